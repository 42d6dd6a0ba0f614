// shadergrad: train neural networks on the GPU through WebGPU.

export { Engine, CapturedStep, type EngineOptions, type EngineStats, type AdapterDescription } from './engine/engine';
export { Tensor, type DType, type TensorData } from './tensor';
export * as layers from './layers/index';
export { Random } from './random';
