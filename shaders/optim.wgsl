// Optimizer update rules, in place: each entry point updates the weights and the rule's state in one pass.
//
// Every kernel reads the gradient at @binding(0), updates the weights at @binding(1) and its state
// tensors after them, and takes its hyperparameters from a uniform block. Factors that are cheap
// on the host and lossy in f32 (1 − β, Adam's bias corrections) arrive precomputed in float64.
// Bindings alias across entry points (each entry point uses only its own variables).

// ---- sgd: w −= lr·dw -----------------------------------------------------------------------------

struct SgdParams {
  n: u32,
  learning_rate: f32,
}

@group(0) @binding(0) var<storage, read> sgd_dw: array<f32>;
@group(0) @binding(1) var<storage, read_write> sgd_w: array<f32>;
@group(0) @binding(2) var<uniform> sgd_params: SgdParams;

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i < sgd_params.n) {
    sgd_w[i] = sgd_w[i] - sgd_params.learning_rate * sgd_dw[i];
  }
}

// ---- sgd with momentum, plain and Nesterov --------------------------------------------------------

struct MomentumParams {
  n: u32,
  learning_rate: f32,
  momentum: f32,
}

@group(0) @binding(0) var<storage, read> momentum_dw: array<f32>;
@group(0) @binding(1) var<storage, read_write> momentum_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> momentum_velocity: array<f32>;
@group(0) @binding(3) var<uniform> momentum_params: MomentumParams;

// v = μ·v − lr·dw; w = w + v
@compute @workgroup_size(256)
fn sgd_momentum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i < momentum_params.n) {
    let v_prev = momentum_velocity[i];
    let step = momentum_params.learning_rate * momentum_dw[i];
    momentum_velocity[i] = fma(momentum_params.momentum, v_prev, -step);
    // w + v, summed as (w + μ·v_prev) − lr·dw: where fma is fused, the large μ·v_prev is not rounded
    // on its own before meeting w (the course's −0.4 + 0.5406 loses 2.6e-8 to that rounding).
    momentum_w[i] = fma(momentum_params.momentum, v_prev, momentum_w[i]) - step;
  }
}

// v_prev = v; v = μ·v − lr·dw; w = w + v + μ·(v − v_prev)
@compute @workgroup_size(256)
fn sgd_nesterov_momentum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i < momentum_params.n) {
    let v_prev = momentum_velocity[i];
    let v = momentum_params.momentum * v_prev - momentum_params.learning_rate * momentum_dw[i];
    momentum_velocity[i] = v;
    momentum_w[i] = momentum_w[i] + v + momentum_params.momentum * (v - v_prev);
  }
}

// ---- rmsprop: cache = d·cache + (1 − d)·dw²; w −= lr·dw / (√cache + ε) -------------------------------

struct RmspropParams {
  n: u32,
  learning_rate: f32,
  decay_rate: f32,
  one_minus_decay_rate: f32,
  epsilon: f32,
}

@group(0) @binding(0) var<storage, read> rmsprop_dw: array<f32>;
@group(0) @binding(1) var<storage, read_write> rmsprop_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> rmsprop_cache: array<f32>;
@group(0) @binding(3) var<uniform> rmsprop_params: RmspropParams;

@compute @workgroup_size(256)
fn rmsprop(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i < rmsprop_params.n) {
    let dw = rmsprop_dw[i];
    let cache_prev = rmsprop_cache[i];
    let cache = rmsprop_params.decay_rate * cache_prev + rmsprop_params.one_minus_decay_rate * (dw * dw);
    rmsprop_cache[i] = cache;
    rmsprop_w[i] = rmsprop_w[i] - rmsprop_params.learning_rate * dw / (sqrt(cache) + rmsprop_params.epsilon);
  }
}

// ---- adam (t already advanced on the host) ----------------------------------------------------------
// m = β1·m + (1 − β1)·dw; v = β2·v + (1 − β2)·dw²
// m̂ = m / (1 − β1^t); v̂ = v / (1 − β2^t); w −= lr·m̂ / (√v̂ + ε)

struct AdamParams {
  n: u32,
  learning_rate: f32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  epsilon: f32,
  // 1 / (1 − β1^t) and 1 / (1 − β2^t), computed in float64 on the host for this step's t.
  m_correction: f32,
  v_correction: f32,
}

@group(0) @binding(0) var<storage, read> adam_dw: array<f32>;
@group(0) @binding(1) var<storage, read_write> adam_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> adam_m: array<f32>;
@group(0) @binding(3) var<storage, read_write> adam_v: array<f32>;
@group(0) @binding(4) var<uniform> adam_params: AdamParams;

@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_invocation(wid, nwg, lid, 256u);
  if (i < adam_params.n) {
    let dw = adam_dw[i];
    let m = adam_params.beta1 * adam_m[i] + adam_params.one_minus_beta1 * dw;
    let v = adam_params.beta2 * adam_v[i] + adam_params.one_minus_beta2 * (dw * dw);
    adam_m[i] = m;
    adam_v[i] = v;
    let m_hat = m * adam_params.m_correction;
    let v_hat = v * adam_params.v_correction;
    adam_w[i] = adam_w[i] - adam_params.learning_rate * m_hat / (sqrt(v_hat) + adam_params.epsilon);
  }
}
