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

/** op(a)·op(b) in float64, op a transpose where asked: what every matmul kernel is checked against. */
export function matmul(a: NDArray, b: NDArray, transA = false, transB = false): NDArray {
  const [ar, ac] = [a.shape[0]!, a.shape[1]!];
  const [br, bc] = [b.shape[0]!, b.shape[1]!];
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [KB, N] = transB ? [bc, br] : [br, bc];
  if (K !== KB) throw new Error(`reference matmul: inner dimensions ${K} and ${KB} differ`);
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const av = transA ? a.data[k * ac + i]! : a.data[i * ac + k]!;
      if (av === 0) continue;
      for (let j = 0; j < N; j++) out[i * N + j] += av * (transB ? b.data[j * bc + k]! : b.data[k * bc + j]!);
    }
  }
  return nd(out, [M, N]);
}
