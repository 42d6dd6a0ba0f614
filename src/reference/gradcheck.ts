// Centred finite differences and error measures, to check the reference and the GPU against it.

import type { NDArray } from './ndarray';

/** ∂/∂x of Σ f(x)·dout by centred differences (the course's eval_numerical_gradient_array). */
export function numericGradientArray(f: (x: NDArray) => NDArray, x: NDArray, dout: NDArray, h = 1e-5): Float64Array {
  const grad = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const old = x.data[i]!;
    x.data[i] = old + h;
    const plus = f(x).data;
    x.data[i] = old - h;
    const minus = f(x).data;
    x.data[i] = old;
    let s = 0;
    for (let j = 0; j < plus.length; j++) s += (plus[j]! - minus[j]!) * dout.data[j]!;
    grad[i] = s / (2 * h);
  }
  return grad;
}

/** ∂f/∂x of a scalar function by centred differences (the course's eval_numerical_gradient). */
export function numericGradient(f: (x: NDArray) => number, x: NDArray, h = 1e-5): Float64Array {
  const grad = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) {
    const old = x.data[i]!;
    x.data[i] = old + h;
    const plus = f(x);
    x.data[i] = old - h;
    const minus = f(x);
    x.data[i] = old;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/** ‖a − b‖ / ‖b‖ (‖a − b‖ when b is zero); NaN anywhere gives NaN, which fails every bound. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: lengths differ (${a.length} vs ${b.length})`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff);
}

/** The course's rel_error: max |a − b| / max(1e-8, |a| + |b|). */
export function courseRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`courseRelError: lengths differ (${a.length} vs ${b.length})`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(1e-8, Math.abs(a[i]!) + Math.abs(b[i]!));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}
