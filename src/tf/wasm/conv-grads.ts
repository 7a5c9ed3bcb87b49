/**
 * The two convolution gradients for the wasm backend, both expressed through its XNNPACK
 * forward Conv2D (~10x the naive loops tfjs ships, and Conv2DBackpropFilter is not shipped
 * at all). The data rearrangements (padding, dilation, transposes) are plain JS passes over
 * the wasm heap: memory-bound and small next to the convolution itself.
 *
 * - filter gradient: dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-pt, ow*s+kw-pl, ci] dy[n,oh,ow,co]
 *   is a 'valid' conv whose batch is ci, whose channels are n, and whose "filter" is dy
 *   ([OH,OW,n,co]) applied with dilation s; its [ci,KH,KW,co] output is transposed back.
 * - input gradient: a 'valid' stride-1 conv of dy, dilated by s (zeros between rows/columns)
 *   and padded by K-1-p, with the kernel flipped and its channel axes swapped.
 */
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';

/** The parts of BackendWasm these kernels use (its class is not part of the public API). */
interface WasmBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function wasmConv(): KernelFunc {
  const k = tf.getKernel('Conv2D', 'wasm');
  if (!k) throw new Error('the wasm backend has no Conv2D kernel');
  return k.kernelFunc;
}

/** A stride-1 'valid' forward conv through the wasm backend's own (XNNPACK) kernel. */
function validConv(backend: WasmBackend, x: TensorInfo, filter: TensorInfo, dilation: [number, number]): TensorInfo {
  return wasmConv()({
    inputs: { x, filter },
    backend,
    attrs: { strides: [1, 1], pad: 'valid', dilations: dilation, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as NamedAttrMap,
  }) as TensorInfo;
}

function convInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap): ConvInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
    strides: [number, number] | number; pad: 'same' | 'valid' | number | number[][]; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (dataFormat === 'NCHW') throw new Error('the wasm convolution gradients support NHWC only');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    strides, 1, pad as 'same', dimRoundingMode, false, 'channelsLast',
  );
}

export function conv2dBackpropFilterWasm({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const b = backend as WasmBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = (attrs as { filterShape: number[] }).filterShape;
  const info = convInfo(x.shape, filterShape, attrs!);
  const [N, H, W, CI] = x.shape as [number, number, number, number];
  const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, outChannels: CO, strideHeight: SH, strideWidth: SW } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const HP = KH + (OH - 1) * SH, WP = KW + (OW - 1) * SW;

  // X'[ci, r, c, n] = x[n, r - pt, c - pl, ci], zero outside the image.
  const xt = b.makeOutput([CI, HP, WP, N], 'float32');
  const dyt = b.makeOutput([OH, OW, N, CO], 'float32');
  {
    const src = b.typedArrayFromHeap(x), dst = b.typedArrayFromHeap(xt);
    dst.fill(0);
    for (let n = 0; n < N; n++) {
      for (let r = 0; r < HP; r++) {
        const h = r - pt;
        if (h < 0 || h >= H) continue;
        for (let c = 0; c < WP; c++) {
          const w = c - pl;
          if (w < 0 || w >= W) continue;
          const s0 = ((n * H + h) * W + w) * CI;
          const d0 = (r * WP + c) * N + n;
          for (let ci = 0; ci < CI; ci++) dst[ci * HP * WP * N + d0] = src[s0 + ci]!;
        }
      }
    }
    // dy [N,OH,OW,CO] -> [OH,OW,N,CO]: whole CO rows move at once.
    const g = b.typedArrayFromHeap(dy), gt = b.typedArrayFromHeap(dyt);
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < OH * OW; p++) gt.set(g.subarray((n * OH * OW + p) * CO, (n * OH * OW + p + 1) * CO), (p * N + n) * CO);
    }
  }
  const out = validConv(b, xt, dyt, [SH, SW]); // [CI, KH, KW, CO]
  b.disposeData(xt.dataId);
  b.disposeData(dyt.dataId);
  const dw = b.makeOutput([KH, KW, CI, CO], 'float32');
  {
    const src = b.typedArrayFromHeap(out), dst = b.typedArrayFromHeap(dw);
    for (let ci = 0; ci < CI; ci++) {
      for (let k = 0; k < KH * KW; k++) dst.set(src.subarray((ci * KH * KW + k) * CO, (ci * KH * KW + k + 1) * CO), (k * CI + ci) * CO);
    }
  }
  b.disposeData(out.dataId);
  return dw;
}

export function conv2dBackpropInputWasm({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const b = backend as WasmBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const inputShape = (attrs as { inputShape: number[] }).inputShape;
  const info = convInfo(inputShape, filter.shape, attrs!);
  const [N, H, W, CI] = inputShape as [number, number, number, number];
  const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, outChannels: CO, strideHeight: SH, strideWidth: SW } = info;
  const pT = KH - 1 - info.padInfo.top, pL = KW - 1 - info.padInfo.left;
  if (pT < 0 || pL < 0) throw new Error('the wasm input gradient needs padding smaller than the kernel');
  const HD = H + KH - 1, WD = W + KW - 1;

  const dyd = b.makeOutput([N, HD, WD, CO], 'float32');
  const wf = b.makeOutput([KH, KW, CO, CI], 'float32');
  {
    const g = b.typedArrayFromHeap(dy), d = b.typedArrayFromHeap(dyd);
    d.fill(0);
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < OH; oh++) {
        const r = pT + oh * SH;
        if (r >= HD) continue;
        for (let ow = 0; ow < OW; ow++) {
          const c = pL + ow * SW;
          if (c >= WD) continue;
          const s0 = ((n * OH + oh) * OW + ow) * CO;
          d.set(g.subarray(s0, s0 + CO), ((n * HD + r) * WD + c) * CO);
        }
      }
    }
    // Wf[a, b, co, ci] = W[KH-1-a, KW-1-b, ci, co]
    const wsrc = b.typedArrayFromHeap(filter), wdst = b.typedArrayFromHeap(wf);
    for (let a = 0; a < KH; a++) {
      for (let bb = 0; bb < KW; bb++) {
        const s0 = ((KH - 1 - a) * KW + (KW - 1 - bb)) * CI * CO;
        const d0 = (a * KW + bb) * CO * CI;
        for (let ci = 0; ci < CI; ci++) {
          for (let co = 0; co < CO; co++) wdst[d0 + co * CI + ci] = wsrc[s0 + ci * CO + co]!;
        }
      }
    }
  }
  const dx = validConv(b, dyd, wf, [1, 1]);
  b.disposeData(dyd.dataId);
  b.disposeData(wf.dataId);
  return dx;
}

export const wasmConvGradConfigs = (): KernelConfig[] => [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilterWasm },
  { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2dBackpropInputWasm },
];
