// The optimizers (`optim` in the public API): the course's update rules as in-place WGSL kernels.
//
// Each rule is `rule(w, dw, config?) → { nextW, config }`: nextW is w itself, updated in place on
// its buffer together with the rule's state in ONE dispatch; config is the object passed in (or a
// new one) with missing keys set to their defaults and missing state tensors created, so calling
// the rule again with the same config continues from that state.
//
// State is created zeroed on first use, by a queue write rather than a recorded clear, and from the
// engine's pool rather than a capture's scope: created inside `engine.capture`, it is neither
// re-zeroed nor overwritten by the step's temporaries on replay, and it stays valid zeros even if
// the capture throws afterwards.
//
// Capture and replay. Inside `engine.capture` a rule records its dispatch once; on each replay the
// hyperparameters are read again from `config` (assign `config.learningRate` to decay it), and
// Adam's `config.t` advances by one before the step's uniforms are computed (so t counts recorded
// steps: a capture that throws after Adam ran has still advanced it). The captured step stays
// bound to the w, dw and state tensors it was captured with: replacing `config.m` or disposing one
// of them makes the next replay throw instead of updating a stale tensor.
//
// Multi-tensor update (a whole model in one dispatch per rule). `engine.slab(shapes)` lays several
// tensors out in one buffer, each view at a 256-byte-aligned offset, and returns the whole buffer
// as an ordinary 1-D f32 tensor `flat`. Make the parameters and their gradients two slabs from the
// same `shapes` object (same keys, same order, so element i of both means the same thing), then
//
//     optim.adam(params.flat, grads.flat, config)
//
// is the update for every parameter at once; its state tensors are flat too (shaped like
// params.flat, padding included, zeroed when created). Every rule is elementwise, so padding between
// views never mixes with real elements, whatever it holds. Where the gradient's padding is zero
// (`engine.slab` zeroes a slab when it makes it; copies into the views never touch the padding) the padding of w and of the
// state stays finite as well — every rule maps dw = 0, state = 0 to a zero step — so reductions
// over a whole flat tensor stay meaningful. Updating the flat tensors equals updating each view
// with its own config (test/cases/optim.cases.ts checks this).

export {
  sgd,
  sgdMomentum,
  sgdNesterovMomentum,
  rmsprop,
  adam,
  updateRules,
  updateWith,
  isUpdateRule,
  type UpdateRuleName,
  type SgdConfig,
  type MomentumConfig,
  type RmspropConfig,
  type AdamConfig,
  type OptimConfig,
  type UpdateResult,
} from './rules';
