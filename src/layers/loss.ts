// Layer API: the softmax and multiclass SVM losses, loss and gradient together, as the course's functions.

import { classificationLoss, type LossKernelOptions } from '../kernels/loss';
import { type Tensor, checkTensors } from '../tensor';

/**
 * Softmax cross-entropy of scores x (N, C) f32 for labels y (N) i32: `loss` is the mean over the
 * rows (a one-element tensor: `await loss.item()`), `dx` (N, C) its gradient. Stable for scores of
 * any magnitude. A label outside [0, C) makes the loss, and that row of dx, NaN.
 */
export function softmaxLoss(x: Tensor, y: Tensor, options?: LossKernelOptions): { loss: Tensor; dx: Tensor } {
  return classificationLoss(checkTensors('softmaxLoss', [['x', x], ['y', y]]), 'softmax', x, y, options);
}

/**
 * Multiclass SVM (hinge, margin 1) of scores x (N, C) f32 for labels y (N) i32: `loss` is the mean
 * over the rows of Σ_{j≠y} max(0, x_j − x_y + 1), `dx` (N, C) its gradient. A label outside
 * [0, C) makes the loss, and that row of dx, NaN.
 */
export function svmLoss(x: Tensor, y: Tensor, options?: LossKernelOptions): { loss: Tensor; dx: Tensor } {
  return classificationLoss(checkTensors('svmLoss', [['x', x], ['y', y]]), 'svm', x, y, options);
}
