/**
 * Training-mode batch norm of the DCGAN: the shared op of src/tf/kernels/batchnorm-train.ts (one
 * kernel forward and one backward, C++ on the native backend; tf.moments + tf.batchNorm
 * elsewhere). This wrapper keeps the form that hands the batch statistics over as arrays.
 */
import { tf } from '../src/tf/tf.js';
import { batchNormTrain } from '../src/tf/kernels/batchnorm-train.js';

export { batchNormTrain };

export interface BatchMoments {
  mean: Float32Array;
  variance: Float32Array;
}

/**
 * y = (x - mean) / sqrt(var + eps) * gamma + beta over all axes but the last; `onMoments`
 * receives the batch mean and (biased) variance of each channel.
 */
export function fusedBatchNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, onMoments?: (m: BatchMoments) => void): tf.Tensor {
  const { y, mean, variance } = batchNormTrain(x, gamma, beta, eps);
  onMoments?.({ mean: Float32Array.from(mean.dataSync()), variance: Float32Array.from(variance.dataSync()) });
  return y;
}
