/**
 * Training-mode batch norm as one op: batch statistics over every axis but the last, the
 * normalisation, and a backward pass that yields dx (through the batch statistics), dgamma and
 * dbeta together. Written as tf.moments + tf.batchNorm, autodiff runs ~25 element-wise ops over
 * the activation per layer; this is 3 passes forward and 2 backward. Opt-in for model code:
 * `batchNormTrain(x, gamma, beta, eps, { activation, alpha, bias })`; on a backend without these
 * kernels it is exactly the (add, ) moments + batchNorm (+ activation) composition. An activation that follows (ReLU, leaky ReLU: the DCGAN's) can
 * run in the same passes: forward in the normalising pass, its gradient recomputed from x in both
 * backward passes, rather than a separate pass (and tensor) each way. So can a per-channel bias
 * added to x before (a convolution's): the input is x + bias, formed in each pass, and the bias
 * gradient is the column sums of dx.
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
export function activationGradFn(act: BnActivation, alpha: number): (g: number, z: number) => number {
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

/** x + bias per channel, rounded to float32 as a separate Add would store it. */
function withBias(X: ArrayLike<number>, bias: ArrayLike<number>, M: number, C: number): Float32Array {
  const out = new Float32Array(M * C);
  for (let i = 0; i < M * C; i += C) for (let c = 0; c < C; c++) out[i + c] = X[i + c]! + bias[c]!;
  return out;
}

/** batchNormTrain only runs the kernels on inputs bnDims accepts; a direct call may not. */
function dimsOf(x: TensorInfo): BnDims {
  const d = bnDims(x);
  if (!d) throw new Error(`${BN_TRAIN}: x must be float32 [..., C] with C > 0, got ${x.dtype} [${x.shape.join(', ')}]`);
  return d;
}

/**
 * Inputs x [..., C], bias [C] (added to x), gamma [C], beta [C]; outputs y, mean [C], variance [C]
 * (biased, as tf.moments).
 */
export function batchNormTrainJs({ inputs, attrs, backend }: Args): TensorInfo[] {
  const [x, bias, gamma, beta] = inputsOf(inputs, 'x', 'bias', 'gamma', 'beta');
  const { M, C } = dimsOf(x);
  const eps = attrs.varianceEpsilon as number;
  const { act, alpha } = activationOf(attrs);
  const f = activationFn(act, alpha);
  const X = withBias(valuesOf(backend, x), valuesOf(backend, bias), M, C);
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
 * Inputs dy, x, bias, gamma, beta, mean, variance (beta recomputes the activation's input z as
 * the forward pass did); outputs dx, dgamma, dbeta, dbias (dx's column sums).
 */
export function batchNormTrainGradJs({ inputs, attrs, backend }: Args): TensorInfo[] {
  const [dy, x, bias, gamma, mean, variance] = inputsOf(inputs, 'dy', 'x', 'bias', 'gamma', 'mean', 'variance');
  const { M, C } = dimsOf(x);
  const eps = attrs.varianceEpsilon as number;
  const { act, alpha } = activationOf(attrs);
  const DY = valuesOf(backend, dy);
  const X = withBias(valuesOf(backend, x), valuesOf(backend, bias), M, C);
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
  const sdx = new Float64Array(C);
  for (let i = 0; i < M * C; i += C) {
    for (let c = 0; c < C; c++) {
      DX[i + c] = a[c]! * GR[i + c]! - off[c]! - b[c]! * (X[i + c]! - MU[c]!);
      sdx[c]! += DX[i + c]!;
    }
  }
  count(BN_TRAIN_GRAD, true);
  return [
    output(backend, x.shape, 'float32', DX),
    output(backend, [C], 'float32', dgamma),
    output(backend, [C], 'float32', dbeta),
    output(backend, [C], 'float32', Float32Array.from(sdx)),
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
  inputsToSave: ['x', 'bias', 'gamma', 'beta'],
  outputsToSave: [false, true, true],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    // Only y carries a gradient: the statistics feed the running averages, outside autodiff.
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const [x, bias, gamma, beta, mean, variance] = saved;
    if (!dy || !x || !bias || !gamma || !beta || !mean || !variance)
      throw new Error(`${BN_TRAIN} gradient: expected dy and 6 saved tensors, got ${saved.length}`);
    // The engine asks for each input's gradient in its own tidy scope, and skips inputs off the
    // path to the variables: so dx's call keeps plain copies of the small dgamma/dbeta/dbias for
    // the calls that may follow, rather than tensors that would be disposed or leak.
    let params: Float32Array[] | null = null;
    const run = (): Tensor[] => {
      const outs = tf
        .engine()
        .runKernel(BN_TRAIN_GRAD, { dy, x, bias, gamma, beta, mean, variance }, attrs) as Tensor[];
      if (outs.length !== 4) throw new Error(`${BN_TRAIN_GRAD} returned ${outs.length} tensors, expected 4`);
      params = outs.slice(1).map((t) => Float32Array.from(t.dataSync() as Float32Array));
      return outs;
    };
    const param = (k: 0 | 1 | 2): Tensor => (params ? tf.tensor1d(params[k]!) : run()[k + 1]!);
    return { x: () => run()[0]!, gamma: () => param(0), beta: () => param(1), bias: () => param(2) };
  },
};

let gradientRegistered = false;

export interface BatchNormTrainResult {
  y: Tensor;
  mean: Tensor;
  variance: Tensor;
}

export interface BatchNormTrainOptions {
  /** Applied to the normalised values: none, tf.relu or tf.leakyRelu(alpha). */
  activation?: BnActivation;
  alpha?: number;
  /** Per channel, added to x before the statistics (a convolution's bias). */
  bias?: Tensor;
}

/**
 * y = act(gamma (v - mean) / sqrt(variance + eps) + beta), v = x (+ bias), with the batch's mean
 * and variance of v over every axis but the last (NHWC: over N, H, W); differentiable in x, gamma,
 * beta and bias, with the values and gradients of the ops written one after the other.
 */
export function batchNormTrain(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  varianceEpsilon: number,
  { activation = 'linear', alpha = 0, bias }: BatchNormTrainOptions = {},
): BatchNormTrainResult {
  const C = x.shape[x.shape.length - 1];
  if (C === undefined) throw new Error('batchNormTrain: x must have a channel axis, got a scalar');
  const fused =
    tf.getKernel(BN_TRAIN, tf.getBackend()) !== undefined &&
    bnDims(x) !== null &&
    gamma.dtype === 'float32' &&
    beta.dtype === 'float32' &&
    gamma.size === C &&
    beta.size === C &&
    (bias === undefined || (bias.dtype === 'float32' && bias.size === C));
  if (!fused) {
    count(BN_TRAIN, false);
    const v = bias ? tf.add(x, bias) : x;
    const axes = v.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(v, axes);
    const z = tf.batchNorm(v, mean, variance, beta.reshape([C]), gamma.reshape([C]), varianceEpsilon);
    const y = activation === 'relu' ? tf.relu(z) : activation === 'leakyrelu' ? tf.leakyRelu(z, alpha) : z;
    return { y, mean, variance };
  }
  if (!gradientRegistered) {
    tf.registerGradient(gradConfig);
    gradientRegistered = true;
  }
  // Without a bias, zeros: the kernels and the gradient then have one form (x + 0 is x).
  const b = bias ? bias.reshape([C]) : tf.zeros([C]);
  const [y, mean, variance] = tf
    .engine()
    .runKernel(
      BN_TRAIN,
      { x, bias: b, gamma: gamma.reshape([C]), beta: beta.reshape([C]) },
      { varianceEpsilon, activation, alpha },
    ) as Tensor[];
  if (!bias) b.dispose();
  if (!y || !mean || !variance) throw new Error(`${BN_TRAIN} did not return y, mean and variance`);
  return { y, mean, variance };
}
