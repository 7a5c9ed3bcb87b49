/**
 * Training-mode batch norm as one op: batch statistics over every axis but the last, the
 * normalisation, and a backward pass that yields dx (through the batch statistics), dgamma and
 * dbeta together. Written as tf.moments + tf.batchNorm, autodiff runs ~25 element-wise ops over
 * the activation per layer; this is 3 passes forward and 2 backward. Opt-in for model code:
 * `batchNormTrain(x, gamma, beta, eps)`; on a backend without these kernels it is exactly the
 * moments + batchNorm composition.
 */
import type { GradConfig, KernelConfig, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { type Args, count, inputsOf, output, valuesOf } from './util.js';
import { allocFloats } from '../buffer-pool.js';

export const BN_TRAIN = 'PosterStudioBatchNormTrain';
export const BN_TRAIN_GRAD = 'PosterStudioBatchNormTrainGrad';

export interface BnDims {
  M: number;
  C: number;
}

/** Rows M and channels C of a float32 [..., C] input, or null when the op does not apply. */
export function bnDims(x: TensorInfo): BnDims | null {
  if (x.shape.length < 1 || x.dtype !== 'float32') return null;
  const C = x.shape[x.shape.length - 1] ?? 0;
  const M = C === 0 ? 0 : x.shape.reduce((a, b) => a * b, 1) / C;
  return M > 0 ? { M, C } : null;
}

/** batchNormTrain only runs the kernels on inputs bnDims accepts; a direct call may not. */
function dimsOf(x: TensorInfo): BnDims {
  const d = bnDims(x);
  if (!d) throw new Error(`${BN_TRAIN}: x must be float32 [..., C] with C > 0, got ${x.dtype} [${x.shape.join(', ')}]`);
  return d;
}

/** Inputs x [..., C], gamma [C], beta [C]; outputs y, mean [C], variance [C] (biased, as tf.moments). */
export function batchNormTrainJs({ inputs, attrs, backend }: Args): TensorInfo[] {
  const [x, gamma, beta] = inputsOf(inputs, 'x', 'gamma', 'beta');
  const { M, C } = dimsOf(x);
  const eps = attrs.varianceEpsilon as number;
  const X = valuesOf(backend, x);
  const G = valuesOf(backend, gamma);
  const B = valuesOf(backend, beta);
  const sum = new Float64Array(C);
  for (let i = 0; i < M * C; i += C) for (let c = 0; c < C; c++) sum[c]! += X[i + c]!;
  const mean = new Float32Array(C);
  for (let c = 0; c < C; c++) mean[c] = sum[c]! / M;
  // Second pass around the (float32) mean, as tf.moments computes it: no cancellation.
  const sq = new Float64Array(C);
  for (let i = 0; i < M * C; i += C) {
    for (let c = 0; c < C; c++) {
      const d = X[i + c]! - mean[c]!;
      sq[c]! += d * d;
    }
  }
  const variance = new Float32Array(C);
  const k = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    variance[c] = sq[c]! / M;
    k[c] = G[c]! / Math.sqrt(variance[c]! + eps);
  }
  const Y = allocFloats(M * C);
  for (let i = 0; i < M * C; i += C) for (let c = 0; c < C; c++) Y[i + c] = (X[i + c]! - mean[c]!) * k[c]! + B[c]!;
  count(BN_TRAIN, true);
  return [
    output(backend, x.shape, 'float32', Y),
    output(backend, [C], 'float32', mean),
    output(backend, [C], 'float32', variance),
  ];
}

/** Inputs dy, x, gamma, mean, variance; outputs dx, dgamma, dbeta. */
export function batchNormTrainGradJs({ inputs, attrs, backend }: Args): TensorInfo[] {
  const [dy, x, gamma, mean, variance] = inputsOf(inputs, 'dy', 'x', 'gamma', 'mean', 'variance');
  const { M, C } = dimsOf(x);
  const eps = attrs.varianceEpsilon as number;
  const DY = valuesOf(backend, dy);
  const X = valuesOf(backend, x);
  const G = valuesOf(backend, gamma);
  const MU = valuesOf(backend, mean);
  const V = valuesOf(backend, variance);
  const sdy = new Float64Array(C);
  const sdyx = new Float64Array(C);
  for (let i = 0; i < M * C; i += C) {
    for (let c = 0; c < C; c++) {
      const g = DY[i + c]!;
      sdy[c]! += g;
      sdyx[c]! += g * (X[i + c]! - MU[c]!);
    }
  }
  // dx = gamma r (dy - sum(dy)/M - (x - mean) r^2 sum(dy (x - mean))/M), r = 1/sqrt(var + eps)
  const a = new Float64Array(C);
  const b = new Float64Array(C);
  const off = new Float64Array(C);
  const dgamma = new Float32Array(C);
  const dbeta = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const r = 1 / Math.sqrt(V[c]! + eps);
    a[c] = G[c]! * r;
    b[c] = (a[c]! * r * r * sdyx[c]!) / M;
    off[c] = (a[c]! * sdy[c]!) / M;
    dgamma[c] = r * sdyx[c]!;
    dbeta[c] = sdy[c]!;
  }
  const DX = allocFloats(M * C);
  for (let i = 0; i < M * C; i += C) {
    for (let c = 0; c < C; c++) DX[i + c] = a[c]! * DY[i + c]! - off[c]! - b[c]! * (X[i + c]! - MU[c]!);
  }
  count(BN_TRAIN_GRAD, true);
  return [
    output(backend, x.shape, 'float32', DX),
    output(backend, [C], 'float32', dgamma),
    output(backend, [C], 'float32', dbeta),
  ];
}

export function batchNormTrainKernels(backendName: string): KernelConfig[] {
  return [
    { kernelName: BN_TRAIN, backendName, kernelFunc: batchNormTrainJs as unknown as KernelConfig['kernelFunc'] },
    {
      kernelName: BN_TRAIN_GRAD,
      backendName,
      kernelFunc: batchNormTrainGradJs as unknown as KernelConfig['kernelFunc'],
    },
  ];
}

const gradConfig: GradConfig = {
  kernelName: BN_TRAIN,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    // Only y carries a gradient: the statistics feed the running averages, outside autodiff.
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const [x, gamma, mean, variance] = saved;
    if (!dy || !x || !gamma || !mean || !variance)
      throw new Error(`${BN_TRAIN} gradient: expected dy and 4 saved tensors, got ${saved.length}`);
    // The engine asks for each input's gradient in its own tidy scope, and skips inputs off the
    // path to the variables: so dx's call keeps plain copies of the small dgamma/dbeta for the
    // calls that may follow, rather than tensors that would be disposed or leak.
    let params: [Float32Array, Float32Array] | null = null;
    const run = (): [Tensor, Tensor, Tensor] => {
      const outs = three(
        tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x, gamma, mean, variance }, attrs) as Tensor[],
        BN_TRAIN_GRAD,
      );
      params = [
        Float32Array.from(outs[1].dataSync() as Float32Array),
        Float32Array.from(outs[2].dataSync() as Float32Array),
      ];
      return outs;
    };
    const param = (k: 0 | 1): Tensor => (params ? tf.tensor1d(params[k]) : run()[k === 0 ? 1 : 2]);
    return { x: () => run()[0], gamma: () => param(0), beta: () => param(1) };
  },
};

/** Both kernels return three tensors; name the kernel if one ever does not. */
function three(outs: Tensor[], kernel: string): [Tensor, Tensor, Tensor] {
  const [a, b, c] = outs;
  if (!a || !b || !c) throw new Error(`${kernel} returned ${outs.length} tensors, expected 3`);
  return [a, b, c];
}

let gradientRegistered = false;

export interface BatchNormTrainResult {
  y: Tensor;
  mean: Tensor;
  variance: Tensor;
}

/**
 * y = gamma (x - mean) / sqrt(variance + eps) + beta with the batch's mean and variance over
 * every axis but the last (NHWC: over N, H, W); differentiable in x, gamma and beta.
 */
export function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, varianceEpsilon: number): BatchNormTrainResult {
  const C = x.shape[x.shape.length - 1];
  if (C === undefined) throw new Error('batchNormTrain: x must have a channel axis, got a scalar');
  const fused =
    tf.getKernel(BN_TRAIN, tf.getBackend()) !== undefined &&
    bnDims(x) !== null &&
    gamma.dtype === 'float32' &&
    beta.dtype === 'float32' &&
    gamma.size === C &&
    beta.size === C;
  if (!fused) {
    count(BN_TRAIN, false);
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.batchNorm(x, mean, variance, beta.reshape([C]), gamma.reshape([C]), varianceEpsilon);
    return { y, mean, variance };
  }
  if (!gradientRegistered) {
    tf.registerGradient(gradConfig);
    gradientRegistered = true;
  }
  const [y, mean, variance] = three(
    tf
      .engine()
      .runKernel(BN_TRAIN, { x, gamma: gamma.reshape([C]), beta: beta.reshape([C]) }, { varianceEpsilon }) as Tensor[],
    BN_TRAIN,
  );
  return { y, mean, variance };
}
