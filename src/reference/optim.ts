// Float64 CPU reference of the update rules (tests only): the course's formulas, in place on Float64Arrays.

/** A rule's config with float64 state arrays; missing keys take the same defaults as `optim`. */
export interface RefOptimConfig {
  learningRate?: number;
  momentum?: number;
  velocity?: Float64Array;
  decayRate?: number;
  epsilon?: number;
  cache?: Float64Array;
  beta1?: number;
  beta2?: number;
  m?: Float64Array;
  v?: Float64Array;
  t?: number;
}

export type RefRule = 'sgd' | 'sgdMomentum' | 'sgdNesterovMomentum' | 'rmsprop' | 'adam';

/** One step of `rule`: updates w and the state in `config` in place (state created as zeros). */
export function refUpdate(rule: RefRule, w: Float64Array, dw: ArrayLike<number>, config: RefOptimConfig): void {
  const n = w.length;
  if (dw.length !== n) throw new Error('reference optim: w and dw differ in length');
  const zeros = () => new Float64Array(n);
  switch (rule) {
    case 'sgd': {
      const lr = (config.learningRate ??= 1e-2);
      for (let i = 0; i < n; i++) w[i] -= lr * dw[i]!;
      return;
    }
    case 'sgdMomentum':
    case 'sgdNesterovMomentum': {
      const lr = (config.learningRate ??= 1e-2);
      const mu = (config.momentum ??= 0.9);
      const v = (config.velocity ??= zeros());
      for (let i = 0; i < n; i++) {
        const vPrev = v[i]!;
        v[i] = mu * vPrev - lr * dw[i]!;
        w[i] += rule === 'sgdMomentum' ? v[i]! : v[i]! + mu * (v[i]! - vPrev);
      }
      return;
    }
    case 'rmsprop': {
      const lr = (config.learningRate ??= 1e-2);
      const d = (config.decayRate ??= 0.99);
      const eps = (config.epsilon ??= 1e-8);
      const cache = (config.cache ??= zeros());
      for (let i = 0; i < n; i++) {
        cache[i] = d * cache[i]! + (1 - d) * dw[i]! * dw[i]!;
        w[i] -= (lr * dw[i]!) / (Math.sqrt(cache[i]!) + eps);
      }
      return;
    }
    case 'adam': {
      const lr = (config.learningRate ??= 1e-3);
      const b1 = (config.beta1 ??= 0.9);
      const b2 = (config.beta2 ??= 0.999);
      const eps = (config.epsilon ??= 1e-8);
      const m = (config.m ??= zeros());
      const v = (config.v ??= zeros());
      const t = (config.t = (config.t ?? 0) + 1);
      for (let i = 0; i < n; i++) {
        m[i] = b1 * m[i]! + (1 - b1) * dw[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * dw[i]! * dw[i]!;
        const mHat = m[i]! / (1 - b1 ** t);
        const vHat = v[i]! / (1 - b2 ** t);
        w[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      return;
    }
  }
}
