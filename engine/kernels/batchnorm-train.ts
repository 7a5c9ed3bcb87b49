/**
 * Training-mode batch norm as one op: batch statistics over every axis but the last, the
 * normalisation, and a backward pass that yields dx (through the batch statistics), dgamma and
 * dbeta together. Written as tf.moments + tf.batchNorm, autodiff runs ~25 element-wise ops over
 * the activation per layer; this is 3 passes forward and 2 backward. Opt-in for model code:
 * `batchNormTrain(x, gamma, beta, eps)`; on a backend without these kernels it is exactly the
 * moments + batchNorm composition. An activation that follows (ReLU, leaky ReLU: the DCGAN's) can
 * run in the same passes: forward in the normalising pass, its gradient recomputed from x in both
 * backward passes, rather than a separate pass (and tensor) each way.
 */
import type { GradConfig, KernelConfig, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { type Args, count, inputsOf, output, valuesOf } from './util.js';
import { allocFloats } from '../buffer-pool.js';

export const BN_TRAIN = 'PosterStudioBatchNormTrain';
export const BN_TRAIN_GRAD = 'PosterStudioBatchNormTrainGrad';

/** The activation applied in the op; 'linear' is none. */
export type BnActivation = 'linear' | 'relu' | 'leakyrelu';

/** The attrs of both kernels: activation and alpha default to none (ops recorded before they existed). */
function activationOf(attrs: NamedAttrMap): { act: BnActivation; alpha: number } {
  const act = (attrs.activation as BnActivation | undefined) ?? 'linear';
  if (act !== 'linear' && act !== 'relu' && act !== 'leakyrelu')
    throw new Error(`${BN_TRAIN}: activation must be linear, relu or leakyrelu, got ${String(act)}`);
  return { act, alpha: (attrs.alpha as number | undefined) ?? 0 };
}

/** The same expressions as kernels/unary.ts's Relu and LeakyRelu, so the fused op's values equal them. */
function activationFn(act: BnActivation, alpha: number): (z: number) => number {
  if (act === 'relu') return (z) => (z + Math.abs(z)) * 0.5;
  if (act === 'leakyrelu') {
    const p0 = (1 + alpha) / 2,
      p1 = (1 - alpha) / 2;
    return (z) => p0 * z + p1 * Math.abs(z);
  }
  return (z) => z;
}

/** g = dy * act'(z), as kernels/activation-grads.ts computes it (relu: NaN z gives NaN). */
function activationGradFn(act: BnActivation, alpha: number): (g: number, z: number) => number {
  if (act === 'relu') return (g, z) => (z !== z ? z : z > 0 ? g : g * 0);
  if (act === 'leakyrelu') {
    const a = Math.fround(alpha);
    return (g, z) => (z > 0 ? g : g * a);
  }
  return (g) => g;
}

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
  const { act, alpha } = activationOf(attrs);
  const f = activationFn(act, alpha);
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
  for (let i = 0; i < M * C; i += C)
    for (let c = 0; c < C; c++) Y[i + c] = f(Math.fround((X[i + c]! - mean[c]!) * k[c]! + B[c]!));
  count(BN_TRAIN, true);
  return [
    output(backend, x.shape, 'float32', Y),
    output(backend, [C], 'float32', mean),
    output(backend, [C], 'float32', variance),
  ];
}

/**
 * Inputs dy, x, gamma, mean, variance (and beta with an activation, to recompute its input z as
 * the forward pass did); outputs dx, dgamma, dbeta.
 */
export function batchNormTrainGradJs({ inputs, attrs, backend }: Args): TensorInfo[] {
  const [dy, x, gamma, mean, variance] = inputsOf(inputs, 'dy', 'x', 'gamma', 'mean', 'variance');
  const { M, C } = dimsOf(x);
  const eps = attrs.varianceEpsilon as number;
  const { act, alpha } = activationOf(attrs);
  const DY = valuesOf(backend, dy);
  const X = valuesOf(backend, x);
  const G = valuesOf(backend, gamma);
  const MU = valuesOf(backend, mean);
  const V = valuesOf(backend, variance);
  // With an activation, dy becomes g = dy * act'(z), z as the forward's (rounded to float32).
  let GR: ArrayLike<number> = DY;
  if (act !== 'linear') {
    const [beta] = inputsOf(inputs, 'beta');
    const B = valuesOf(backend, beta);
    const dact = activationGradFn(act, alpha);
    const k = new Float64Array(C);
    for (let c = 0; c < C; c++) k[c] = G[c]! / Math.sqrt(V[c]! + eps);
    const g = new Float32Array(M * C);
    for (let i = 0; i < M * C; i += C)
      for (let c = 0; c < C; c++) g[i + c] = dact(DY[i + c]!, Math.fround((X[i + c]! - MU[c]!) * k[c]! + B[c]!));
    GR = g;
  }
  const sdy = new Float64Array(C);
  const sdyx = new Float64Array(C);
  for (let i = 0; i < M * C; i += C) {
    for (let c = 0; c < C; c++) {
      const g = GR[i + c]!;
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
    for (let c = 0; c < C; c++) DX[i + c] = a[c]! * GR[i + c]! - off[c]! - b[c]! * (X[i + c]! - MU[c]!);
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
  inputsToSave: ['x', 'gamma', 'beta'],
  outputsToSave: [false, true, true],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    // Only y carries a gradient: the statistics feed the running averages, outside autodiff.
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const [x, gamma, beta, mean, variance] = saved;
    if (!dy || !x || !gamma || !beta || !mean || !variance)
      throw new Error(`${BN_TRAIN} gradient: expected dy and 5 saved tensors, got ${saved.length}`);
    // The engine asks for each input's gradient in its own tidy scope, and skips inputs off the
    // path to the variables: so dx's call keeps plain copies of the small dgamma/dbeta for the
    // calls that may follow, rather than tensors that would be disposed or leak.
    let params: [Float32Array, Float32Array] | null = null;
    const run = (): [Tensor, Tensor, Tensor] => {
      const outs = three(
        tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x, gamma, beta, mean, variance }, attrs) as Tensor[],
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
 * y = act(gamma (x - mean) / sqrt(variance + eps) + beta) with the batch's mean and variance over
 * every axis but the last (NHWC: over N, H, W); differentiable in x, gamma and beta. act is none,
 * tf.relu or tf.leakyRelu(alpha), with their values and gradients.
 */
export function batchNormTrain(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  varianceEpsilon: number,
  activation: BnActivation = 'linear',
  alpha = 0,
): BatchNormTrainResult {
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
    const z = tf.batchNorm(x, mean, variance, beta.reshape([C]), gamma.reshape([C]), varianceEpsilon);
    const y = activation === 'relu' ? tf.relu(z) : activation === 'leakyrelu' ? tf.leakyRelu(z, alpha) : z;
    return { y, mean, variance };
  }
  if (!gradientRegistered) {
    tf.registerGradient(gradConfig);
    gradientRegistered = true;
  }
  const [y, mean, variance] = three(
    tf
      .engine()
      .runKernel(
        BN_TRAIN,
        { x, gamma: gamma.reshape([C]), beta: beta.reshape([C]) },
        { varianceEpsilon, activation, alpha },
      ) as Tensor[],
    BN_TRAIN,
  );
  return { y, mean, variance };
}
