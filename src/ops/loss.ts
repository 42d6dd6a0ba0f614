// Loss ops (softmax, SVM): forward gives the mean loss and saves dx; backward scales dx by the upstream gradient.

import { classificationLoss, scaleByUpstream, type LossKind } from '../kernels/loss';
import { type Tensor, checkTensors } from '../tensor';
import { type Op, defineOp } from './op';

function lossOp(kind: LossKind, name: string): Op<[x: Tensor, y: Tensor], Tensor, Tensor> {
  return defineOp({
    name,
    /** out: the mean loss (one element); saved: its gradient dx (N, C), computed in the same pass. */
    forward(x: Tensor, y: Tensor) {
      const { loss, dx } = classificationLoss(checkTensors(name, [['x', x], ['y', y]]), kind, x, y);
      return { out: loss, saved: dx };
    },
    /** dx · dloss, dloss being the one-element gradient of whatever uses the loss (usually 1). */
    backward(dloss: Tensor, dx: Tensor) {
      return scaleByUpstream(dx.engine, dx, dloss, `${name}Backward`);
    },
    /** The saved dx exists only for backward. */
    temporaries: (dx: Tensor) => [dx],
  });
}

export const softmaxLoss = lossOp('softmax', 'softmaxLoss');
export const svmLoss = lossOp('svm', 'svmLoss');
