/**
 * The two convolution gradients for the wasm backend, both expressed through its XNNPACK
 * forward Conv2D (~10x the naive loops tfjs ships, and Conv2DBackpropFilter is not shipped
 * at all). The data rearrangements (padding, dilation, transposes) are plain JS passes over
 * the wasm heap: memory-bound and small next to the convolution itself.
 *
 * - filter gradient: dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-pt, ow*s+kw-pl, ci] dy[n,oh,ow,co]
 *   is a 'valid' conv whose batch is ci, whose channels are n, and whose "filter" is dy
 *   ([OH,OW,n,co]) applied with dilation s; its [ci,KH,KW,co] output is transposed back.
 * - input gradient: for each of the s x s output phases, a 'valid' stride-1 conv of (padded) dy
 *   with the flipped sub-kernel of that phase, channel axes swapped; results interleaved.
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
    attrs: {
      strides: [1, 1],
      pad: 'valid',
      dilations: dilation,
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
    } as unknown as NamedAttrMap,
  }) as TensorInfo;
}

function convInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap): ConvInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'same' | 'valid' | number | number[][];
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (dataFormat === 'NCHW') throw new Error('the wasm convolution gradients support NHWC only');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad as 'same',
    dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * Where dy[n, oh, ow, 0] is, through dy's own shape as the cpu kernels read it: tfjs does not
 * check that dy has the convolution's output shape, and a conv2dTranspose asked for an output
 * smaller than the convolution of its input would give (8x8 into 4x4, f=8, s=1, same, in tfjs's
 * own tests) passes a larger dy whose top-left corner is the gradient.
 */
function dyIndex(dy: TensorInfo, CO: number): (n: number, oh: number, ow: number) => number {
  const [, DH, DW] = dy.shape as [number, number, number, number];
  return (n, oh, ow) => ((n * DH + oh) * DW + ow) * CO;
}

export function conv2dBackpropFilterWasm({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const b = backend as WasmBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = (attrs as { filterShape: number[] }).filterShape;
  const info = convInfo(x.shape, filterShape, attrs!);
  const [N, H, W, CI] = x.shape as [number, number, number, number];
  const {
    filterHeight: KH,
    filterWidth: KW,
    outHeight: OH,
    outWidth: OW,
    outChannels: CO,
    strideHeight: SH,
    strideWidth: SW,
  } = info;
  const pt = info.padInfo.top,
    pl = info.padInfo.left;
  const HP = KH + (OH - 1) * SH,
    WP = KW + (OW - 1) * SW;

  // X'[ci, r, c, n] = x[n, r - pt, c - pl, ci], zero outside the image.
  const xt = b.makeOutput([CI, HP, WP, N], 'float32');
  const dyt = b.makeOutput([OH, OW, N, CO], 'float32');
  {
    const src = b.typedArrayFromHeap(x),
      dst = b.typedArrayFromHeap(xt);
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
    const g = b.typedArrayFromHeap(dy),
      gt = b.typedArrayFromHeap(dyt);
    const at = dyIndex(dy, CO);
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const s0 = at(n, oh, ow);
          gt.set(g.subarray(s0, s0 + CO), ((oh * OW + ow) * N + n) * CO);
        }
      }
    }
  }
  const out = validConv(b, xt, dyt, [SH, SW]); // [CI, KH, KW, CO]
  b.disposeData(xt.dataId);
  b.disposeData(dyt.dataId);
  const dw = b.makeOutput([KH, KW, CI, CO], 'float32');
  {
    const src = b.typedArrayFromHeap(out),
      dst = b.typedArrayFromHeap(dw);
    for (let ci = 0; ci < CI; ci++) {
      for (let k = 0; k < KH * KW; k++)
        dst.set(src.subarray((ci * KH * KW + k) * CO, (ci * KH * KW + k + 1) * CO), (k * CI + ci) * CO);
    }
  }
  b.disposeData(out.dataId);
  return dw;
}

/**
 * Phase decomposition: the rows of dx with the same (i + pad) mod s meet the same kernel rows
 * (every s-th one), so each of the s x s phases is a stride-1 conv of dy with a sub-kernel,
 * and no multiply touches an inserted zero (dilating dy by s would waste 1 - 1/s^2 of the work).
 */
export function conv2dBackpropInputWasm({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const b = backend as WasmBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const inputShape = (attrs as { inputShape: number[] }).inputShape;
  const info = convInfo(inputShape, filter.shape, attrs!);
  const [N, H, W, CI] = inputShape as [number, number, number, number];
  const {
    filterHeight: KH,
    filterWidth: KW,
    outHeight: OH,
    outWidth: OW,
    outChannels: CO,
    strideHeight: SH,
    strideWidth: SW,
  } = info;
  const pt = info.padInfo.top,
    pl = info.padInfo.left;

  const dx = b.makeOutput([N, H, W, CI], 'float32');
  b.typedArrayFromHeap(dx).fill(0);
  // One axis of a phase: first output index i0, count M, first dy index q0, taps T.
  const phase = (r: number, s: number, size: number, pad: number, k: number) => {
    const i0 = (((r - pad) % s) + s) % s;
    const M = i0 < size ? Math.ceil((size - i0) / s) : 0;
    const T = r < k ? Math.ceil((k - r) / s) : 0;
    return { i0, M, T, q0: (i0 + pad - r) / s };
  };
  for (let rh = 0; rh < SH; rh++) {
    const ph = phase(rh, SH, H, pt, KH);
    if (ph.M === 0 || ph.T === 0) continue;
    for (let rw = 0; rw < SW; rw++) {
      const pw = phase(rw, SW, W, pl, KW);
      if (pw.M === 0 || pw.T === 0) continue;
      const PH = ph.M + ph.T - 1,
        PW = pw.M + pw.T - 1;
      const p = b.makeOutput([N, PH, PW, CO], 'float32');
      const wc = b.makeOutput([ph.T, pw.T, CO, CI], 'float32');
      {
        // P[a, c] = dy[q0 - (T-1) + a, ...], zero outside dy.
        const g = b.typedArrayFromHeap(dy),
          d = b.typedArrayFromHeap(p);
        const at = dyIndex(dy, CO);
        d.fill(0);
        for (let n = 0; n < N; n++) {
          for (let a = 0; a < PH; a++) {
            const oh = ph.q0 - (ph.T - 1) + a;
            if (oh < 0 || oh >= OH) continue;
            for (let c = 0; c < PW; c++) {
              const ow = pw.q0 - (pw.T - 1) + c;
              if (ow < 0 || ow >= OW) continue;
              const s0 = at(n, oh, ow);
              d.set(g.subarray(s0, s0 + CO), ((n * PH + a) * PW + c) * CO);
            }
          }
        }
        // Wc[u, v, co, ci] = W[rh + SH*(Th-1-u), rw + SW*(Tw-1-v), ci, co]
        const ws = b.typedArrayFromHeap(filter),
          wd = b.typedArrayFromHeap(wc);
        for (let u = 0; u < ph.T; u++) {
          for (let v = 0; v < pw.T; v++) {
            const s0 = ((rh + SH * (ph.T - 1 - u)) * KW + (rw + SW * (pw.T - 1 - v))) * CI * CO;
            const d0 = (u * pw.T + v) * CO * CI;
            for (let ci = 0; ci < CI; ci++) {
              for (let co = 0; co < CO; co++) wd[d0 + co * CI + ci] = ws[s0 + ci * CO + co]!;
            }
          }
        }
      }
      const part = validConv(b, p, wc, [1, 1]); // [N, Mh, Mw, CI]
      b.disposeData(p.dataId);
      b.disposeData(wc.dataId);
      const src = b.typedArrayFromHeap(part),
        out = b.typedArrayFromHeap(dx);
      for (let n = 0; n < N; n++) {
        for (let m = 0; m < ph.M; m++) {
          const i = ph.i0 + SH * m;
          for (let mw = 0; mw < pw.M; mw++) {
            const s0 = ((n * ph.M + m) * pw.M + mw) * CI;
            out.set(src.subarray(s0, s0 + CI), ((n * H + i) * W + pw.i0 + SW * mw) * CI);
          }
        }
      }
      b.disposeData(part.dataId);
    }
  }
  return dx;
}

export const wasmConvGradConfigs = (): KernelConfig[] => [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilterWasm },
  { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2dBackpropInputWasm },
];
