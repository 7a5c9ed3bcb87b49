/**
 * Training-mode batch norm as one op with a hand-written gradient. tfjs composes batch norm and
 * its gradient from a dozen broadcasting element-wise ops, which on the cpu-based backends cost
 * more than the convolutions; here forward and backward are each a few fused passes over the
 * data (channels last), summed in double precision.
 */
import { tf } from '../src/tf/tf.js';

export interface BatchMoments {
  mean: Float32Array;
  variance: Float32Array;
}

/**
 * y = (x - mean) / sqrt(var + eps) * gamma + beta over all axes but the last; `onMoments`
 * receives the batch mean and (biased) variance of each channel.
 */
export function fusedBatchNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, onMoments?: (m: BatchMoments) => void): tf.Tensor {
  const f = (xIn: tf.Tensor, gIn: tf.Tensor, bIn: tf.Tensor): { value: tf.Tensor; gradFunc: (dy: tf.Tensor) => tf.Tensor[] } => {
    const xv = xIn.dataSync() as Float32Array;
    const gv = gIn.dataSync() as Float32Array;
    const bv = bIn.dataSync() as Float32Array;
    const C = gv.length;
    const n = xv.length;
    const M = n / C;
    const sum = new Float64Array(C);
    for (let k = 0; k < n; k++) sum[k % C]! += xv[k]!;
    const mean = new Float64Array(C);
    for (let c = 0; c < C; c++) mean[c] = sum[c]! / M;
    const sq = new Float64Array(C);
    for (let k = 0; k < n; k++) {
      const d = xv[k]! - mean[k % C]!;
      sq[k % C]! += d * d;
    }
    const invstd = new Float64Array(C);
    for (let c = 0; c < C; c++) invstd[c] = 1 / Math.sqrt(sq[c]! / M + eps);
    const xhat = new Float32Array(n);
    const y = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const c = k % C;
      const h = (xv[k]! - mean[c]!) * invstd[c]!;
      xhat[k] = h;
      y[k] = h * gv[c]! + bv[c]!;
    }
    onMoments?.({ mean: Float32Array.from(mean), variance: Float32Array.from(sq, (s) => s / M) });
    const value = tf.tensor(y, xIn.shape, 'float32');
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      const dv = dy.dataSync() as Float32Array;
      const sumDy = new Float64Array(C);
      const sumDyH = new Float64Array(C);
      for (let k = 0; k < n; k++) {
        const c = k % C;
        sumDy[c]! += dv[k]!;
        sumDyH[c]! += dv[k]! * xhat[k]!;
      }
      const dx = new Float32Array(n);
      const scale = new Float64Array(C);
      for (let c = 0; c < C; c++) scale[c] = (gv[c]! * invstd[c]!) / M;
      for (let k = 0; k < n; k++) {
        const c = k % C;
        dx[k] = scale[c]! * (M * dv[k]! - sumDy[c]! - xhat[k]! * sumDyH[c]!);
      }
      return [tf.tensor(dx, xIn.shape, 'float32'), tf.tensor(Float32Array.from(sumDyH), [C], 'float32'), tf.tensor(Float32Array.from(sumDy), [C], 'float32')];
    };
    return { value, gradFunc };
  };
  const op = tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma, beta);
}
