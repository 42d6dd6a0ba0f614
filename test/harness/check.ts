// Test helpers shared by the Node and the Chromium suites: tolerances, random data, GPU ↔ float64.

import type { Engine } from '../../src/engine/engine';
import { ShadergradError } from '../../src/errors';
import type { Tensor } from '../../src/tensor';
import { Random } from '../../src/random';
import { type NDArray, nd } from '../../src/reference/ndarray';
import { relativeError } from '../../src/reference/gradcheck';

/** SPEC.md's f32 bounds on ‖gpu − ref‖ / ‖ref‖. */
export const TOL = {
  elementwise: 1e-5,
  reduction: 1e-4,
  matmul: 1e-4,
  /** The reference against finite differences, in float64. */
  gradcheck: 1e-7,
} as const;

export interface TestCase {
  name: string;
  /** Milliseconds; SwiftShader is slow, so large cases say how long they may take. */
  timeout?: number;
  run(engine: Engine): Promise<void>;
}

/** Throws unless ‖actual − expected‖ / ‖expected‖ ≤ tol (NaN always fails). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): number {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  }
  const err = relativeError(actual, expected);
  if (!(err <= tol)) {
    const worst = worstIndex(actual, expected);
    throw new Error(
      `${what}: relative error ${err.toExponential(3)} exceeds ${tol.toExponential(1)} ` +
        `(worst at ${worst}: got ${actual[worst]}, expected ${expected[worst]})`,
    );
  }
  return err;
}

/** expectClose where the reference holds NaN: the result must hold NaN exactly there, and be within `tol` elsewhere. */
export function expectCloseOrNaN(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): number {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  const finite: number[] = [];
  for (let i = 0; i < expected.length; i++) {
    const nanExpected = Number.isNaN(expected[i]!);
    if (nanExpected !== Number.isNaN(actual[i]!)) throw new Error(`${what}: [${i}] = ${actual[i]}, expected ${expected[i]}`);
    if (!nanExpected) finite.push(i);
  }
  return expectClose(
    finite.map((i) => actual[i]!),
    finite.map((i) => expected[i]!),
    tol,
    what,
  );
}

/** Resolves as `work` does, or rejects once `ms` have passed (the case runners' per-case limit). */
export function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

export function expectTrue(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

/** Runs fn and requires it to throw an Error whose message matches `pattern`. */
export async function expectThrows(fn: () => unknown, pattern: RegExp, what: string): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!pattern.test(message)) throw new Error(`${what}: threw "${message}", which does not match ${pattern}`);
    // The library's errors are ShadergradErrors, so callers can read their op and reason apart.
    if (message.startsWith('shadergrad: ') && !(error instanceof ShadergradError)) throw new Error(`${what}: threw a plain ${(error as Error).name ?? typeof error} for "${message}", not a ShadergradError`);
    return;
  }
  throw new Error(`${what}: did not throw`);
}

function worstIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let most = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= most)) {
      most = Number.isNaN(d) ? Infinity : d;
      worst = i;
    }
  }
  return worst;
}

/** Normal random float64 data, rounded to f32 so the GPU and the reference see the same inputs. */
export function randn(rng: Random, shape: readonly number[], std = 1, mean = 0): NDArray {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = Math.fround(mean + std * rng.normal());
  return nd(data, shape);
}

export function randomLabels(rng: Random, n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(classes));
}

export function upload(engine: Engine, a: NDArray): Tensor {
  return engine.tensor(Float32Array.from(a.data), a.shape);
}

export async function download(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.read());
}

/** Reads a tensor and compares it with a float64 reference array. */
export async function expectTensor(t: Tensor, ref: NDArray, tol: number, what: string): Promise<number> {
  if (t.shape.join() !== ref.shape.join()) {
    throw new Error(`${what}: shape [${t.shape.join(', ')}], expected [${ref.shape.join(', ')}]`);
  }
  return expectClose(await download(t), ref.data, tol, what);
}
