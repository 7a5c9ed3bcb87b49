/**
 * tfjs kernels that hand the cpu backend's Float32Arrays to the C++ addon: convolution forward and
 * both gradients, (fused) matrix products. Anything the addon does not cover (NCHW, int tensors,
 * prelu, odd broadcasts) runs the cpu backend's own kernel instead, so every call gives an answer.
 */
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf.js';
import { allocFloats } from '../buffer-pool.js';
import { ACT, type NativeAddon } from './addon.js';

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: Rounding;
}

function values(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

function allFloat(...ts: (TensorInfo | undefined)[]): boolean {
  return ts.every((t) => t === undefined || t.dtype === 'float32');
}

/** The 15 numbers kernels.h's ConvGeom reads, in its order. */
function geometry(c: Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.filterHeight,
    c.filterWidth,
    c.outChannels,
    c.outHeight,
    c.outWidth,
    c.strideHeight,
    c.strideWidth,
    c.padInfo.top,
    c.padInfo.left,
    c.dilationHeight,
    c.dilationWidth,
  ]);
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Whether dy has the shape of the convolution's output. tfjs does not check it: a conv2dTranspose
 * asked for an output smaller than the convolution of its input would give (8x8 into 4x4, f=8,
 * s=1, same in tfjs's own tests) hands over a dy larger than the geometry, which the cpu kernel
 * reads through dy's own strides, using its top-left corner; the addon assumes the geometry's
 * layout, so such calls keep the cpu kernel.
 */
const dyMatches = (dy: TensorInfo, c: Conv2DInfo): boolean =>
  tf.util.arraysEqual(dy.shape, [c.batchSize, c.outHeight, c.outWidth, c.outChannels]);

/** Output storage the kernel overwrites entirely (recycled, not zeroed). */
const output = (n: number): Float32Array => allocFloats(n);

/** Bias the addon can add per output channel: one value per channel, any leading 1-dims. */
function channelBias(bias: TensorInfo | undefined, channels: number): boolean {
  return (
    bias === undefined ||
    (bias.dtype === 'float32' &&
      size(bias.shape) === channels &&
      (bias.shape.length === 0 ? channels === 1 : bias.shape[bias.shape.length - 1] === channels))
  );
}

function activationCode(activation: string | undefined): number | null {
  const code = ACT[activation ?? 'linear'];
  return code === undefined ? null : code;
}

export function nativeKernelConfigs(
  addon: NativeAddon,
  backendName: string,
  cpu: (name: string) => KernelFunc,
): KernelConfig[] {
  const fallback = (name: string): KernelFunc => cpu(name);

  const conv2dLike =
    (name: string, fused: boolean): KernelFunc =>
    (args) => {
      const backend = args.backend as MathBackendCPU;
      const inputs = args.inputs as NamedTensorInfoMap;
      const { x, filter, bias } = inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo };
      const attrs = args.attrs as unknown as ConvAttrs & { activation?: string; leakyreluAlpha?: number };
      const act = fused ? activationCode(attrs.activation) : 0;
      const outChannels = filter.shape[3];
      if (
        (attrs.dataFormat ?? 'NHWC') !== 'NHWC' ||
        act === null ||
        outChannels === undefined ||
        !allFloat(x, filter) ||
        !channelBias(bias, outChannels)
      ) {
        return fallback(name)(args);
      }
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filter.shape as [number, number, number, number],
        attrs.strides,
        attrs.dilations ?? 1,
        attrs.pad,
        attrs.dimRoundingMode,
        false,
        'channelsLast',
      );
      const out = output(size(info.outShape));
      if (out.length > 0) {
        addon.conv2d(
          values(backend, x),
          values(backend, filter),
          out,
          geometry(info),
          bias ? values(backend, bias) : null,
          act,
          attrs.leakyreluAlpha ?? 0.2,
        );
      }
      return backend.makeTensorInfo(info.outShape, 'float32', out);
    };

  const backpropInput: KernelFunc = (args) => {
    const backend = args.backend as MathBackendCPU;
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || !allFloat(dy, filter)) return fallback('Conv2DBackpropInput')(args);
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    if (!dyMatches(dy, info)) return fallback('Conv2DBackpropInput')(args);
    const out = output(size(attrs.inputShape));
    if (out.length > 0) addon.conv2dBackpropInput(values(backend, dy), values(backend, filter), out, geometry(info));
    return backend.makeTensorInfo(attrs.inputShape, 'float32', out);
  };

  const backpropFilter: KernelFunc = (args) => {
    const backend = args.backend as MathBackendCPU;
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || !allFloat(x, dy)) return fallback('Conv2DBackpropFilter')(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    if (!dyMatches(dy, info)) return fallback('Conv2DBackpropFilter')(args);
    const out = output(size(attrs.filterShape));
    if (out.length > 0) addon.conv2dBackpropFilter(values(backend, x), values(backend, dy), out, geometry(info));
    return backend.makeTensorInfo(attrs.filterShape, 'float32', out);
  };

  const matmulLike =
    (name: string, fused: boolean): KernelFunc =>
    (args) => {
      const backend = args.backend as MathBackendCPU;
      const { a, b, bias } = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo };
      const attrs = args.attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
        activation?: string;
        leakyreluAlpha?: number;
      };
      const act = fused ? activationCode(attrs.activation) : 0;
      const ra = a.shape.length,
        rb = b.shape.length;
      if (act === null || ra < 2 || rb < 2 || !allFloat(a, b)) return fallback(name)(args);
      const m = attrs.transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
      const k = attrs.transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
      const kb = attrs.transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
      const n = attrs.transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
      const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      const batchA = size(a.shape.slice(0, -2)),
        batchB = size(b.shape.slice(0, -2)),
        batch = size(batchShape);
      // Only "same batch" or "one side broadcast whole": other broadcasts take the cpu kernel.
      // The dimensions exist (rank >= 2 above); the undefined checks say so to the compiler.
      if (
        m === undefined ||
        k === undefined ||
        n === undefined ||
        k !== kb ||
        (batchA !== batch && batchA !== 1) ||
        (batchB !== batch && batchB !== 1) ||
        !channelBias(bias, n)
      ) {
        return fallback(name)(args);
      }
      const outShape = [...batchShape, m, n];
      const out = output(size(outShape));
      if (out.length > 0) {
        addon.matmul(
          values(backend, a),
          values(backend, b),
          out,
          batchA,
          batchB,
          m,
          n,
          k,
          attrs.transposeA,
          attrs.transposeB,
          bias ? values(backend, bias) : null,
          act,
          attrs.leakyreluAlpha ?? 0.2,
        );
      }
      return backend.makeTensorInfo(outShape, 'float32', out);
    };

  return [
    { kernelName: 'Conv2D', backendName, kernelFunc: conv2dLike('Conv2D', false) },
    { kernelName: 'FusedConv2D', backendName, kernelFunc: conv2dLike('FusedConv2D', true) },
    { kernelName: 'Conv2DBackpropInput', backendName, kernelFunc: backpropInput },
    { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc: backpropFilter },
    { kernelName: 'BatchMatMul', backendName, kernelFunc: matmulLike('BatchMatMul', false) },
    { kernelName: '_FusedMatMul', backendName, kernelFunc: matmulLike('_FusedMatMul', true) },
  ];
}
