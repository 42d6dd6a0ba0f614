// Float64 arrays for the CPU reference: a shape and a Float64Array, row-major.

export interface NDArray {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function nd(data: ArrayLike<number>, shape: readonly number[]): NDArray {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new Error(`reference: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function zeros(shape: readonly number[]): NDArray {
  return { shape: [...shape], data: new Float64Array(shape.reduce((a, b) => a * b, 1)) };
}

export function like(a: NDArray, data: Float64Array): NDArray {
  return { shape: [...a.shape], data };
}

/** n evenly spaced values from lo to hi inclusive (numpy.linspace). */
export function linspace(lo: number, hi: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1);
  return out;
}

/** Rows × columns of an array seen as 2-D with its first dimension kept (the affine layer's view). */
export function rowsCols(a: NDArray): [number, number] {
  const rows = a.shape[0] ?? 1;
  return [rows, rows ? a.data.length / rows : 0];
}
