// Update rules (sgd, momentum, Nesterov, RMSProp, Adam): one in-place WGSL dispatch each, safe to capture and replay.

import type { Engine } from '../engine/engine';
import type { GpuBuffer } from '../engine/pool';
import type { UniformValue } from '../engine/uniforms';
import { elementGrid, type Kernel } from '../kernels/kernel';
import { adamKernel, rmspropKernel, sgdKernel, sgdMomentumKernel, sgdNesterovMomentumKernel } from '../kernels/optim';
import { F32_MAX, Tensor, fmt, isPositiveNormalF32, typeName } from '../tensor';
import { ShadergradError } from '../errors';

/** `optim.sgd`: w −= learningRate·dw. */
export interface SgdConfig {
  learningRate?: number;
}

/** `optim.sgdMomentum` and `optim.sgdNesterovMomentum`. */
export interface MomentumConfig {
  learningRate?: number;
  /** Between 0 and 1; 0 reduces to sgd. */
  momentum?: number;
  /** Shaped like w; created (zeros) on first use. */
  velocity?: Tensor;
}

/** `optim.rmsprop`. */
export interface RmspropConfig {
  learningRate?: number;
  /** Decay of the moving average of squared gradients, in [0, 1]. */
  decayRate?: number;
  epsilon?: number;
  /** Moving average of squared gradients, shaped like w; created (zeros) on first use. */
  cache?: Tensor;
}

/** `optim.adam`. */
export interface AdamConfig {
  learningRate?: number;
  /** Decay of the first moment, in [0, 1). */
  beta1?: number;
  /** Decay of the second moment, in [0, 1). */
  beta2?: number;
  epsilon?: number;
  /** Moving average of the gradient, shaped like w; created (zeros) on first use. */
  m?: Tensor;
  /** Moving average of the squared gradient, shaped like w; created (zeros) on first use. */
  v?: Tensor;
  /** Steps taken; incremented before use, so the first step uses t = 1. */
  t?: number;
}

/** Any rule's config (what the Solver keeps per parameter). */
export type OptimConfig = SgdConfig & MomentumConfig & RmspropConfig & AdamConfig;

/** What every rule returns: `nextW` is `w` itself (updated in place); `config` is the object passed in, defaults filled. */
export interface UpdateResult<C> {
  nextW: Tensor;
  config: Required<C>;
}

// ---- rule descriptions ----------------------------------------------------------------------------

type Config = Record<string, unknown>;

interface Hyperparameter {
  key: string;
  fallback: number;
  valid(value: number): boolean;
  expected: string;
}

// The kernels compute in f32: a value f32 cannot hold would become Infinity (or 0) there.
const f32AtLeast0 = (value: number) => value >= 0 && value <= F32_MAX;
const in0to1 = (value: number) => value >= 0 && value <= 1;
const in0toBelow1 = (value: number) => value >= 0 && value < 1;

const learningRate = (fallback: number): Hyperparameter => ({ key: 'learningRate', fallback, valid: f32AtLeast0, expected: 'a finite f32 number ≥ 0' });
const momentum: Hyperparameter = { key: 'momentum', fallback: 0.9, valid: in0to1, expected: 'a number in [0, 1]' };
// 0 would divide 0 by 0 wherever a gradient stays 0 (a dead ReLU unit): NaN weights.
const epsilon: Hyperparameter = {
  key: 'epsilon',
  fallback: 1e-8,
  valid: isPositiveNormalF32,
  expected: 'a normal f32 number > 0 (1.2e-38 to 3.4e38)',
};

interface RuleSpec {
  name: string;
  kernel: Kernel;
  hyperparameters: readonly Hyperparameter[];
  /** Config keys of the state tensors, created together on first use. */
  state: readonly string[];
  /** The kernel's uniforms after n; functions are re-read each time a captured step replays. */
  uniforms(config: Config): UniformValue[];
  /** Host-side state the step advances before its dispatch (Adam's t). */
  advance?(config: Config): void;
}

const num = (config: Config, key: string) => config[key] as number;

const SGD: RuleSpec = {
  name: 'sgd',
  kernel: sgdKernel,
  hyperparameters: [learningRate(1e-2)],
  state: [],
  uniforms: (c) => [() => num(c, 'learningRate')],
};

const SGD_MOMENTUM: RuleSpec = {
  name: 'sgdMomentum',
  kernel: sgdMomentumKernel,
  hyperparameters: [learningRate(1e-2), momentum],
  state: ['velocity'],
  uniforms: (c) => [() => num(c, 'learningRate'), () => num(c, 'momentum')],
};

const SGD_NESTEROV_MOMENTUM: RuleSpec = { ...SGD_MOMENTUM, name: 'sgdNesterovMomentum', kernel: sgdNesterovMomentumKernel };

const RMSPROP: RuleSpec = {
  name: 'rmsprop',
  kernel: rmspropKernel,
  hyperparameters: [
    learningRate(1e-2),
    { key: 'decayRate', fallback: 0.99, valid: in0to1, expected: 'a number in [0, 1]' },
    epsilon,
  ],
  state: ['cache'],
  uniforms: (c) => [() => num(c, 'learningRate'), () => num(c, 'decayRate'), () => 1 - num(c, 'decayRate'), () => num(c, 'epsilon')],
};

const ADAM: RuleSpec = {
  name: 'adam',
  kernel: adamKernel,
  hyperparameters: [
    learningRate(1e-3),
    { key: 'beta1', fallback: 0.9, valid: in0toBelow1, expected: 'a number in [0, 1)' },
    { key: 'beta2', fallback: 0.999, valid: in0toBelow1, expected: 'a number in [0, 1)' },
    epsilon,
    { key: 't', fallback: 0, valid: (t) => Number.isSafeInteger(t) && t >= 0, expected: 'an integer ≥ 0' },
  ],
  state: ['m', 'v'],
  // 1 − β and the bias corrections in float64 on the host: f32 would round β first (1 − f32(0.9)
  // is off by 2.4e-7 relative), and β^t underflows gracefully here.
  uniforms: (c) => [
    () => num(c, 'learningRate'),
    () => num(c, 'beta1'),
    () => 1 - num(c, 'beta1'),
    () => num(c, 'beta2'),
    () => 1 - num(c, 'beta2'),
    () => num(c, 'epsilon'),
    () => 1 / (1 - num(c, 'beta1') ** num(c, 't')),
    () => 1 / (1 - num(c, 'beta2') ** num(c, 't')),
  ],
  advance: (c) => {
    (c as { t: number }).t += 1;
  },
};

// ---- the shared driver ----------------------------------------------------------------------------

/**
 * Validates, fills defaults, creates missing state, then records ONE dispatch that updates w and
 * the state in place. Inside `engine.capture` nothing here re-runs on replay: hyperparameters are
 * dynamic uniforms read from `config` at each replay (so assigning `config.learningRate` between
 * replays takes effect), and a host hook re-validates them and advances Adam's t before each replay.
 */
function update(spec: RuleSpec, w: Tensor, dw: Tensor, configIn: object | undefined): UpdateResult<Config> {
  const rule = spec.name;
  if (configIn !== undefined && (configIn === null || typeof configIn !== 'object')) {
    throw new ShadergradError(rule, `config must be an object, got ${configIn === null ? 'null' : typeof configIn}`);
  }
  const config = (configIn ?? {}) as Config;
  const engine = checkOperands(rule, w, dw);
  checkKeys(spec, config);
  // Defaults go into the caller's object only once the config is known to be valid.
  checkHyperparameters(spec, withDefaults(spec, config));
  for (const h of spec.hyperparameters) if (config[h.key] === undefined) config[h.key] = h.fallback;
  const present = spec.state.filter((key) => config[key] !== undefined && config[key] !== null);
  if (present.length && present.length !== spec.state.length) {
    const missing = spec.state.filter((key) => !present.includes(key));
    throw new ShadergradError(rule, `config has ${present.join(', ')} but not ${missing.join(', ')}: give every state tensor or none`);
  }
  for (const key of present) checkState(rule, key, config[key], w);
  checkDistinctBuffers(rule, w, dw, present.map((key) => [key, config[key] as Tensor]));

  // ---- no error after this point: state and recorded work ----
  if (present.length === 0) {
    for (const key of spec.state) config[key] = engine.persistentZeros(w.shape, 'f32', `${rule}.${key}`);
  }
  const state = spec.state.map((key) => config[key] as Tensor);
  // Runs now and before every replay (the first run was validated above).
  let replaying = false;
  engine.host(() => {
    if (replaying) {
      checkHyperparameters(spec, config);
      checkStillBound(spec, config, w, dw, state);
    }
    replaying = true;
    spec.advance?.(config);
  });
  if (w.size > 0) {
    engine.dispatch(spec.kernel, [dw, w, ...state], elementGrid(spec.kernel, w.size), [w.size, ...spec.uniforms(config)]);
  }
  return { nextW: w, config: config as Required<Config> };
}

/** A copy of config with its missing hyperparameters at their defaults. */
function withDefaults(spec: RuleSpec, config: Config): Config {
  const out = { ...config };
  for (const h of spec.hyperparameters) if (out[h.key] === undefined) out[h.key] = h.fallback;
  return out;
}

/** Every config key is one of the rule's: a misspelt or another rule's key would be ignored, its default used. */
function checkKeys(spec: RuleSpec, config: Config): void {
  const known = [...spec.hyperparameters.map((h) => h.key), ...spec.state];
  for (const key of Object.keys(config)) {
    if (known.includes(key)) continue;
    const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    if (known.includes(camel)) throw new ShadergradError(spec.name, `config key '${key}' is spelled '${camel}' in shadergrad`);
    const alike = known.find((k) => k.toLowerCase() === key.toLowerCase());
    const owners = Object.values(SPECS).filter((other) => other.hyperparameters.some((h) => h.key === key) || other.state.includes(key));
    const hint = alike ? ` (did you mean '${alike}'?)` : owners.length ? ` (it is ${owners.map((o) => o.name).join("'s and ")}'s)` : '';
    throw new ShadergradError(spec.name, `unknown config key '${key}'${hint}; ${spec.name} takes ${known.join(', ')}`);
  }
}

function checkHyperparameters(spec: RuleSpec, config: Config): void {
  for (const h of spec.hyperparameters) {
    const value = config[h.key];
    if (typeof value !== 'number' || !h.valid(value)) {
      const shown = typeof value === 'number' ? String(value) : `${JSON.stringify(value) ?? String(value)} (${typeof value})`;
      throw new ShadergradError(spec.name, `${h.key} must be ${h.expected}, got ${shown}`);
    }
  }
}

function describe(t: Tensor): string {
  return `${t.dtype} ${fmt(t.shape)}`;
}

function checkOperands(rule: string, w: Tensor, dw: Tensor): Engine {
  if (!(w instanceof Tensor) || !(dw instanceof Tensor)) {
    throw new ShadergradError(rule, `w and dw must be Tensors, got ${typeName(w)} and ${typeName(dw)}`);
  }
  for (const [name, t] of [['w', w], ['dw', dw]] as const) {
    if (t.disposed) throw new ShadergradError(rule, `${name} ${fmt(t.shape)} was disposed`);
    if (t.dtype !== 'f32' || t.format !== 'native') {
      throw new ShadergradError(rule, `${name} must be an f32 tensor, got ${t.dtype}${t.format === 'native' ? '' : ` (${t.format})`} ${fmt(t.shape)}`);
    }
  }
  if (w.engine !== dw.engine) throw new ShadergradError(rule, `w and dw belong to different Engines`);
  if (w.shape.join() !== dw.shape.join() || w.rank !== dw.rank) {
    throw new ShadergradError(rule, `w ${describe(w)} and dw ${describe(dw)} must have the same shape`);
  }
  return w.engine;
}

function checkState(rule: string, key: string, value: unknown, w: Tensor): void {
  if (!(value instanceof Tensor)) throw new ShadergradError(rule, `config.${key} must be a Tensor, got ${typeName(value)}`);
  if (value.disposed) throw new ShadergradError(rule, `config.${key} ${fmt(value.shape)} was disposed`);
  if (value.engine !== w.engine) throw new ShadergradError(rule, `config.${key} belongs to another Engine than w`);
  if (value.dtype !== 'f32' || value.format !== 'native' || value.shape.join() !== w.shape.join() || value.rank !== w.rank) {
    throw new ShadergradError(rule, `config.${key} is ${describe(value)} but must be shaped like w, f32 ${fmt(w.shape)}`);
  }
}

/** One dispatch may not bind a buffer both read-only and writable, nor write it through two bindings. */
function checkDistinctBuffers(rule: string, w: Tensor, dw: Tensor, state: Array<[string, Tensor]>): void {
  const seen = new Map<GpuBuffer, string>();
  for (const [name, t] of [['w', w], ['dw', dw], ...state.map(([k, t]) => [`config.${k}`, t] as const)] as const) {
    const buf = t.storageFor(rule);
    const other = seen.get(buf);
    if (other) throw new ShadergradError(rule, `${name} shares its GPU buffer with ${other}; the update needs separate buffers`);
    seen.set(buf, name);
  }
}

/** Before each replay: a captured step is bound to the tensors it was captured with. */
function checkStillBound(spec: RuleSpec, config: Config, w: Tensor, dw: Tensor, state: readonly Tensor[]): void {
  for (const [name, t] of [['w', w], ['dw', dw]] as const) {
    if (t.disposed) throw new ShadergradError(spec.name, `the captured update's ${name} ${fmt(t.shape)} was disposed`);
  }
  spec.state.forEach((key, i) => {
    if (config[key] !== state[i]) {
      throw new ShadergradError(
        spec.name,
        `config.${key} was replaced after the update was captured; ` +
          'the captured step still updates the old tensor (capture the step again)',
      );
    }
    if (state[i]!.disposed) throw new ShadergradError(spec.name, `config.${key} was disposed but a captured step updates it`);
  });
}

// ---- the public rules -----------------------------------------------------------------------------

/** Vanilla SGD: w −= learningRate·dw (default learningRate 1e-2). Updates w in place. */
export function sgd(w: Tensor, dw: Tensor, config?: SgdConfig): UpdateResult<SgdConfig> {
  return update(SGD, w, dw, config) as UpdateResult<SgdConfig>;
}

/**
 * SGD with momentum: v = momentum·v − learningRate·dw; w = w + v (defaults learningRate 1e-2,
 * momentum 0.9, velocity zeros). Updates w and config.velocity in place.
 */
export function sgdMomentum(w: Tensor, dw: Tensor, config?: MomentumConfig): UpdateResult<MomentumConfig> {
  return update(SGD_MOMENTUM, w, dw, config) as UpdateResult<MomentumConfig>;
}

/**
 * SGD with Nesterov momentum: vPrev = v; v = momentum·v − learningRate·dw;
 * w = w + v + momentum·(v − vPrev). Same config as sgdMomentum.
 */
export function sgdNesterovMomentum(w: Tensor, dw: Tensor, config?: MomentumConfig): UpdateResult<MomentumConfig> {
  return update(SGD_NESTEROV_MOMENTUM, w, dw, config) as UpdateResult<MomentumConfig>;
}

/**
 * RMSProp: cache = decayRate·cache + (1 − decayRate)·dw²; w −= learningRate·dw / (√cache + epsilon)
 * (defaults learningRate 1e-2, decayRate 0.99, epsilon 1e-8, cache zeros).
 */
export function rmsprop(w: Tensor, dw: Tensor, config?: RmspropConfig): UpdateResult<RmspropConfig> {
  return update(RMSPROP, w, dw, config) as UpdateResult<RmspropConfig>;
}

/**
 * Adam: t += 1 first; m = β1·m + (1 − β1)·dw; v = β2·v + (1 − β2)·dw²; mHat = m / (1 − β1^t),
 * vHat = v / (1 − β2^t); w −= learningRate·mHat / (√vHat + epsilon) (defaults learningRate 1e-3,
 * beta1 0.9, beta2 0.999, epsilon 1e-8, t 0, m and v zeros). A captured Adam step advances
 * config.t on every replay.
 */
export function adam(w: Tensor, dw: Tensor, config?: AdamConfig): UpdateResult<AdamConfig> {
  return update(ADAM, w, dw, config) as UpdateResult<AdamConfig>;
}

const SPECS: Record<UpdateRuleName, RuleSpec> = {
  sgd: SGD,
  sgdMomentum: SGD_MOMENTUM,
  sgdNesterovMomentum: SGD_NESTEROV_MOMENTUM,
  rmsprop: RMSPROP,
  adam: ADAM,
};

/** The rules by name (the Solver's `updateRule`). */
export const updateRules = { sgd, sgdMomentum, sgdNesterovMomentum, rmsprop, adam } as const;
export type UpdateRuleName = keyof typeof updateRules;

export function isUpdateRule(name: unknown): name is UpdateRuleName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(updateRules, name);
}

/**
 * Checks a config for `rule` as the rule itself would on its first call — its keys' spelling and
 * its hyperparameters, defaults filled into a copy — without touching the GPU or the object
 * (the Solver checks its optimConfig when it is made, not at the first train()).
 */
export function checkConfig(rule: UpdateRuleName, config: unknown, op: string = rule): void {
  const spec = SPECS[rule];
  if (config === null || typeof config !== 'object') {
    throw new ShadergradError(op, `config must be an object, got ${config === null ? 'null' : typeof config}`);
  }
  const c = config as Config;
  checkKeys(spec, c);
  checkHyperparameters(spec, withDefaults(spec, c));
  for (const key of spec.state) {
    const value = c[key];
    if (value !== undefined && value !== null && !(value instanceof Tensor)) {
      throw new ShadergradError(spec.name, `config.${key} must be a Tensor, got ${typeName(value)}`);
    }
  }
}

/** Runs the rule named `rule` (throws on an unknown name). */
export function updateWith(rule: UpdateRuleName, w: Tensor, dw: Tensor, config?: OptimConfig): { nextW: Tensor; config: OptimConfig } {
  if (!isUpdateRule(rule)) {
    throw new ShadergradError('optim', `unknown update rule '${String(rule)}' (expected one of ${Object.keys(updateRules).join(', ')})`);
  }
  return (updateRules[rule] as (w: Tensor, dw: Tensor, config?: OptimConfig) => { nextW: Tensor; config: OptimConfig })(w, dw, config);
}
