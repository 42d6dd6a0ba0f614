// FullyConnectedNet: (affine - [batchnorm] - relu - [dropout]) × (L − 1) - affine - softmax.

import type { Engine } from '../engine/engine';
import { checkOptions } from '../options';
import { Network } from './network';
import { ShadergradError } from '../errors';

export interface FullyConnectedNetOptions {
  hiddenDims: number[];
  inputDim?: number;
  numClasses?: number;
  /** Probability of dropping a hidden unit (0: no dropout layers). */
  dropout?: number;
  batchnorm?: boolean;
  reg?: number;
  /** Standard deviation of the initial weights. */
  weightScale?: number;
  seed?: number;
}

/** Parameters W1, b1, …, WL, bL, and gamma1, beta1, … for the hidden layers when batchnorm is on. */
export class FullyConnectedNet extends Network {
  static override readonly modelName: string = 'FullyConnectedNet';

  constructor(engine: Engine, options: FullyConnectedNetOptions) {
    if (!options || !Array.isArray(options.hiddenDims)) {
      throw new ShadergradError('FullyConnectedNet', 'options.hiddenDims (a list of hidden layer sizes) is required');
    }
    checkOptions('FullyConnectedNet', options, ['hiddenDims', 'inputDim', 'numClasses', 'dropout', 'batchnorm', 'reg', 'weightScale', 'seed']);
    const { hiddenDims, inputDim = 3 * 32 * 32, numClasses = 10, dropout = 0, batchnorm = false, reg = 0, weightScale = 1e-2, seed } = options;
    super(engine, { inputDim, hiddenDims, numClasses, dropout, batchnorm, reg, weightScale, seed });
  }
}
