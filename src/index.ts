// shadergrad: train neural networks on the GPU through WebGPU.

export { Engine, CapturedStep, type EngineOptions, type EngineStats, type AdapterDescription } from './engine/engine';
export { Tensor, type DType, type TensorData } from './tensor';
export * as layers from './layers/index';
export * as optim from './optim/index';
export * as datasets from './data/index';
export * as checkpoint from './checkpoint/index';
export { Random } from './random';
