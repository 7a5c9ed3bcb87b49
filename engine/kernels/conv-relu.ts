/**
 * A 2D convolution + bias + ReLU (or leaky ReLU) that stays one kernel in training. tfjs fuses
 * the activation into the convolution only outside autodiff (and has no gradient for a fused
 * leaky ReLU); with gradients it runs conv, bias add and activation as three passes, and the
 * backward pass an activation gradient and a bias-gradient sum as two more. Here the forward
 * pass is the backend's FusedConv2D with the activation, and the backward pass starts with one
 * kernel that gives the activation's gradient and its per-channel sum (the bias gradient)
 * together. The input gradient is computed only when something needs it (not for an image
 * input), the filter and bias gradients only when something needs them (not for a frozen
 * discriminator that only passes gradients on).
 */
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { type Args, count, inputsOf, output, valuesOf } from './util.js';
import { allocFloats } from '../buffer-pool.js';
import { activationGradFn } from './batchnorm-train.js';

export const CONV_RELU = 'PosterStudioConv2DRelu';
export const RELU_GRAD_BIAS = 'PosterStudioReluGradBias';

/** The leaky ReLU's slope of a RELU_GRAD_BIAS call (attr `alpha`), as float32; 0 is the ReLU. */
export function leakyAlphaOf(attrs: NamedAttrMap | undefined): number {
  const a = (attrs?.alpha as number | undefined) ?? 0;
  if (!(a >= 0)) throw new Error(`${RELU_GRAD_BIAS}: alpha must be >= 0, got ${String(a)}`);
  return Math.fround(a);
}

/**
 * Inputs dy and y (the activation's output), both [..., C]; outputs the activation's gradient
 * and its sum over every axis but the last, added in double. ReLU (attr alpha 0): dy * (y > 0),
 * a NaN y passing on, as the ReLU gradient does. Leaky ReLU (alpha > 0): dy * (y > 0 ? 1 :
 * alpha), as tfjs's LeakyRelu gradient (y has the sign of the input).
 */
export function reluGradBiasJs({ inputs, backend, attrs }: Args): TensorInfo[] {
  const [dy, y] = inputsOf(inputs, 'dy', 'y');
  const alpha = leakyAlphaOf(attrs);
  const C = y.shape[y.shape.length - 1] ?? 0;
  const DY = valuesOf(backend, dy);
  const Y = valuesOf(backend, y);
  if (y.dtype !== 'float32' || dy.dtype !== 'float32' || DY.length !== Y.length || C === 0)
    throw new Error(`${RELU_GRAD_BIAS}: dy and y must be float32 of one shape [..., C], got [${y.shape.join(', ')}]`);
  const O = allocFloats(Y.length);
  const S = new Float64Array(C);
  // Batch norm's activation gradients, the same expressions; rounded before the sum, as stored.
  const grad = activationGradFn(alpha > 0 ? 'leakyrelu' : 'relu', alpha);
  for (let i = 0; i < Y.length; i += C) {
    for (let c = 0; c < C; c++) {
      const d = Math.fround(grad(DY[i + c]!, Y[i + c]!));
      O[i + c] = d;
      S[c]! += d;
    }
  }
  count(RELU_GRAD_BIAS, true);
  return [output(backend, y.shape, 'float32', O), output(backend, [C], 'float32', Float32Array.from(S))];
}

/**
 * The forward kernel: the backend's own FusedConv2D with a ReLU (attr alpha 0) or a leaky ReLU of
 * slope alpha, under a name with our gradient.
 */
function convReluKernel(backendName: string): KernelConfig {
  const kernelFunc = ((args: Args) => {
    const fused = tf.getKernel('FusedConv2D', backendName);
    if (!fused) throw new Error(`${CONV_RELU}: the ${backendName} backend has no FusedConv2D kernel`);
    count(CONV_RELU, true);
    const alpha = leakyAlphaOf(args.attrs);
    const act = alpha > 0 ? { activation: 'leakyrelu', leakyreluAlpha: alpha } : { activation: 'relu' };
    return fused.kernelFunc({ ...args, attrs: { ...args.attrs, ...act } } as Parameters<KernelFunc>[0]);
  }) as unknown as KernelFunc;
  return { kernelName: CONV_RELU, backendName, kernelFunc };
}

export function convReluKernels(backendName: string): KernelConfig[] {
  return [
    convReluKernel(backendName),
    { kernelName: RELU_GRAD_BIAS, backendName, kernelFunc: reluGradBiasJs as unknown as KernelFunc },
  ];
}

const gradConfig: GradConfig = {
  kernelName: CONV_RELU,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dys: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const [x, filter, y] = saved;
    if (!dy || !x || !filter || !y) throw new Error(`${CONV_RELU} gradient: expected dy and 3 saved tensors`);
    // Outside the per-input thunks (each runs in its own tidy scope), so all three can use it;
    // the engine's backward scope disposes it.
    const [g, db] = tf.engine().runKernel(RELU_GRAD_BIAS, { dy, y }, { alpha: attrs.alpha ?? 0 }) as Tensor[];
    if (!g || !db) throw new Error(`${RELU_GRAD_BIAS} returned fewer than two tensors`);
    const conv: NamedAttrMap = { strides: attrs.strides!, pad: attrs.pad!, dataFormat: 'NHWC' };
    if (attrs.dimRoundingMode !== undefined) conv.dimRoundingMode = attrs.dimRoundingMode;
    return {
      x: () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter }, { ...conv, inputShape: x.shape }) as Tensor,
      filter: () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, { ...conv, filterShape: filter.shape }) as Tensor,
      bias: () => db,
    };
  },
};

let registered = false;

/** Idempotent; called by the registrations of the backends that have the kernels. */
export function registerConvReluGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(gradConfig);
}

/** Whether convRelu runs as one kernel on the active backend (else the layer takes tfjs's path). */
export function convReluAvailable(): boolean {
  const b = tf.getBackend();
  return tf.getKernel(CONV_RELU, b) !== undefined && tf.getKernel(RELU_GRAD_BIAS, b) !== undefined;
}

/**
 * relu(conv2d(x, filter) + bias), NHWC, no dilation; with leakyAlpha > 0 the leaky ReLU of that
 * slope instead. See the file comment.
 */
export function convRelu(
  x: Tensor,
  filter: Tensor,
  bias: Tensor,
  strides: [number, number],
  pad: 'same' | 'valid',
  leakyAlpha = 0,
): Tensor {
  return tf
    .engine()
    .runKernel(
      CONV_RELU,
      { x, filter, bias },
      { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], alpha: leakyAlpha },
    ) as Tensor;
}
