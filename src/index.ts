// shadergrad: train neural networks on the GPU through WebGPU.

export { Engine, CapturedStep, type EngineOptions, type EngineStats, type AdapterDescription } from './engine/engine';
export { Tensor, type DType, type TensorData } from './tensor';
export * as layers from './layers/index';
export { TwoLayerNet, type TwoLayerNetOptions } from './models/two-layer-net';
export { FullyConnectedNet, type FullyConnectedNetOptions } from './models/fully-connected-net';
export { Network, type LossOptions, type TrainPassOptions, type TrainResult } from './models/network';
export { Solver, type SolverOptions, type SolverData, type Progress, type UpdateRuleName, type CheckpointInfo, type CheckpointModel } from './solver/solver';
export * as optim from './optim/index';
export * as datasets from './data/index';
export * as checkpoint from './checkpoint/index';
export { Random } from './random';
export { DeviceError, ShadergradError, errorMessage, errorReason } from './errors';
