// Dropout op (inverted dropout): forward and backward, the mask regenerated from its seed, never stored.

import { dropoutApply } from '../kernels/dropout';
import { Random } from '../random';
import { Tensor, checkTensors, fmt, typeName } from '../tensor';
import { defineOp } from './op';
import { ShadergradError } from '../errors';

export interface DropoutParam {
  /** Probability of DROPPING a unit, in [0, 1); kept units are scaled by 1/(1 − p). */
  p: number;
  mode: 'train' | 'test';
  /**
   * Makes the mask deterministic: the same seed, stream and shape give the same mask, in Node and
   * in the browser alike (an integer, taken modulo 2³²). Without one, every forward pass — and
   * every replay of a captured step — draws a fresh seed.
   */
  seed?: number;
  /**
   * Where unseeded passes draw their seeds (a seeded Random makes a whole training run
   * reproducible while every step still gets a new mask); a shared unseeded one by default.
   */
  rng?: { nextU32(): number };
  /** Decorrelates dropout layers sharing a seed (models pass the layer index); default 0. */
  stream?: number;
}

export interface DropoutCache {
  mode: 'train' | 'test';
  p: number;
  stream: number;
  /**
   * The seed of the mask the forward pass used (null in test mode). A captured step advances it
   * before each replay, and the forward and backward kernels both read it then, so a backward pass
   * always regenerates its own forward pass's mask.
   */
  seed: { value: number } | null;
  /** The input's shape: dx has it. */
  shape: readonly number[];
}

/** Seeds for unseeded forward passes. */
const seeds = new Random();

function checkParam(x: Tensor, param: DropoutParam): { p: number; stream: number } {
  checkTensors('dropoutForward', [['x', x]]);
  const { p, mode, seed, stream = 0 } = param ?? ({} as DropoutParam);
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new ShadergradError('dropoutForward', `p must be in [0, 1), got ${p}`);
  if (mode !== 'train' && mode !== 'test') {
    throw new ShadergradError('dropoutForward', `mode must be 'train' or 'test', got ${JSON.stringify(mode)}`);
  }
  if (seed != null && !Number.isInteger(seed)) throw new ShadergradError('dropoutForward', `seed must be an integer, got ${seed}`);
  const { rng } = param;
  if (rng != null && typeof (rng as { nextU32?: unknown }).nextU32 !== 'function') {
    throw new ShadergradError('dropoutForward', `rng must be a Random (an object with nextU32()), got ${typeName(rng)}`);
  }
  if (!(Number.isInteger(stream) && stream >= 0 && stream < 2 ** 32)) {
    throw new ShadergradError('dropoutForward', `stream must be an integer in [0, 2^32), got ${stream}`);
  }
  if (x.dtype !== 'f32') throw new ShadergradError('dropoutForward', `x must be f32, got ${x.dtype} ${fmt(x.shape)}`);
  return { p, stream };
}

export const dropout = defineOp({
  name: 'dropout',
  /**
   * Train mode: out = x · keep / (1 − p) with keep ~ Bernoulli(1 − p) from the GPU's Philox
   * generator. Test mode: out is a view of x (x's buffer, no copy and no GPU work; disposing the
   * view leaves x alive).
   */
  forward(x: Tensor, param: DropoutParam) {
    const { p, stream } = checkParam(x, param);
    const engine = x.engine;
    if (param.mode === 'test') {
      const saved: DropoutCache = { mode: 'test', p, stream, seed: null, shape: x.shape };
      return { out: x.reshape(x.shape), saved };
    }
    // host() runs now and again before each replay of a captured step: a replay draws a new mask
    // (or the same one when param.seed is set), and both kernels read the seed when they run.
    const seed = { value: 0 };
    engine.host(() => {
      seed.value = param.seed != null ? param.seed >>> 0 : (param.rng ?? seeds).nextU32();
    });
    const out = dropoutApply(engine, x, p, () => seed.value, stream, { label: 'dropoutForward' });
    const saved: DropoutCache = { mode: 'train', p, stream, seed, shape: x.shape };
    return { out, saved };
  },
  /** Train mode: dx = dout · keep / (1 − p), the mask regenerated from the cache's seed. Test mode: a view of dout. */
  backward(dout: Tensor, cache: DropoutCache) {
    if (typeof cache !== 'object' || cache === null || !Array.isArray(cache.shape)) {
      throw new ShadergradError('dropoutBackward', `cache must be the cache dropoutForward returned, got ${typeName(cache)}`);
    }
    checkTensors('dropoutBackward', [['dout', dout]]);
    if (dout.dtype !== 'f32' || dout.shape.join() !== cache.shape.join() || dout.rank !== cache.shape.length) {
      throw new ShadergradError('dropoutBackward', `dout ${dout.dtype} ${fmt(dout.shape)} does not match the input ${fmt(cache.shape)}`);
    }
    if (cache.mode === 'test' || !cache.seed) return dout.reshape(cache.shape);
    const seed = cache.seed;
    return dropoutApply(dout.engine, dout, cache.p, () => seed.value, cache.stream, { label: 'dropoutBackward', shape: cache.shape });
  },
  temporaries: () => [],
});
