// ReLU op: forward and backward.

import { reluBackward, reluForward } from '../kernels/relu';
import { type Tensor, checkTensors } from '../tensor';
import { defineOp } from './op';

export const relu = defineOp({
  name: 'relu',
  forward(x: Tensor) {
    return { out: reluForward(checkTensors('reluForward', [['x', x]]), x), saved: x };
  },
  backward(dout: Tensor, x: Tensor) {
    return reluBackward(checkTensors('reluBackward', [['dout', dout], ['cache', x]]), dout, x);
  },
  temporaries: () => [],
});
