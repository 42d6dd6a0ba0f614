// ReLU op: forward and backward.

import { reluBackward, reluForward } from '../kernels/relu';
import type { Tensor } from '../tensor';
import { defineOp } from './op';

export const relu = defineOp({
  name: 'relu',
  forward(x: Tensor) {
    return { out: reluForward(x.engine, x), saved: x };
  },
  backward(dout: Tensor, x: Tensor) {
    return reluBackward(x.engine, dout, x);
  },
  temporaries: () => [],
});
