// TwoLayerNet: affine - relu - [dropout] - affine - softmax, the course's first model.

import type { Engine } from '../engine/engine';
import { checkOptions } from '../options';
import { Network } from './network';

export interface TwoLayerNetOptions {
  inputDim?: number;
  hiddenDim?: number;
  numClasses?: number;
  /** Probability of dropping a hidden unit. */
  dropout?: number;
  /** Standard deviation of the initial weights. */
  weightScale?: number;
  reg?: number;
  seed?: number;
}

/** Parameters W1 (D, H), b1 (H), W2 (H, C), b2 (C). */
export class TwoLayerNet extends Network {
  static override readonly modelName: string = 'TwoLayerNet';

  constructor(engine: Engine, options: TwoLayerNetOptions = {}) {
    checkOptions('TwoLayerNet', options, ['inputDim', 'hiddenDim', 'numClasses', 'dropout', 'weightScale', 'reg', 'seed']);
    const { inputDim = 3 * 32 * 32, hiddenDim = 100, numClasses = 10, dropout = 0, weightScale = 1e-3, reg = 0, seed } = options;
    super(engine, { inputDim, hiddenDims: [hiddenDim], numClasses, dropout, batchnorm: false, reg, weightScale, seed });
  }
}
