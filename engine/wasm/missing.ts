/**
 * Kernels a training step needs on wasm that tfjs-backend-wasm 4.22 gets wrong: its MaxPoolGrad
 * routes the gradient to the wrong input positions (checked against the cpu backend: errors of
 * the size of dy itself), so the classifier's pooling layers would learn garbage. This one
 * recomputes each window's first maximum (the cpu backend's choice) and adds dy there.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';

interface WasmBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

function maxPoolGradWasm({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const b = backend as WasmBackend;
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'same' | 'valid' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const {
    batchSize: N,
    inHeight: H,
    inWidth: W,
    inChannels: C,
    outHeight: OH,
    outWidth: OW,
    strideHeight: SH,
    strideWidth: SW,
  } = info;
  const FH = info.effectiveFilterHeight,
    FW = info.effectiveFilterWidth,
    pt = info.padInfo.top,
    pl = info.padInfo.left;
  const dx = b.makeOutput(input.shape, 'float32');
  const x = b.typedArrayFromHeap(input),
    g = b.typedArrayFromHeap(dy),
    out = b.typedArrayFromHeap(dx);
  out.fill(0);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = Math.max(0, oh * SH - pt),
        h1 = Math.min(H, oh * SH - pt + FH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = Math.max(0, ow * SW - pl),
          w1 = Math.min(W, ow * SW - pl + FW);
        const gi = ((n * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          let best = -Infinity,
            at = -1;
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) {
              const i = ((n * H + h) * W + w) * C + c;
              const v = x[i]!;
              if (v > best || at < 0 || Number.isNaN(v)) {
                if (at >= 0 && Number.isNaN(best)) continue;
                best = v;
                at = i;
              }
            }
          }
          if (at >= 0) out[at]! += g[gi + c]!;
        }
      }
    }
  }
  return dx;
}

/**
 * tfjs-backend-wasm's BatchMatMul runs XNNPACK only without transpose flags and a naive loop
 * with them: a dense layer's gradients (a^T b, a b^T) ran 6-11x slower than an explicit
 * transpose followed by the plain product (measured at the classifier's 60800x512 dense layer:
 * weight gradient 3.2 s -> 0.55 s, input gradient 2.7 s -> 0.27 s as (W dy^T)^T, wasm, one thread).
 */
function batchMatMulViaTranspose(stock: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return stock({ inputs, backend, attrs });
    const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
    const swapLast = (t: TensorInfo): TensorInfo => {
      const r = t.shape.length;
      const perm = [...Array(r - 2).keys(), r - 1, r - 2];
      return transpose({ inputs: { x: t }, backend, attrs: { perm } }) as TensorInfo;
    };
    const size = (t: TensorInfo): number => t.shape.reduce((x, y) => x * y, 1);
    if (!transposeA && transposeB && size(b) > 4 * size(a)) {
      // a b^T = (b a^T)^T: transposes the small operand and the result instead of a big weight.
      const at = swapLast(a);
      const prod = stock({
        inputs: { a: b, b: at },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }) as TensorInfo;
      (backend as KernelBackend).disposeData(at.dataId);
      const out = swapLast(prod);
      (backend as KernelBackend).disposeData(prod.dataId);
      return out;
    }
    const at = transposeA ? swapLast(a) : a;
    const bt = transposeB ? swapLast(b) : b;
    const out = stock({
      inputs: { a: at, b: bt },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    }) as TensorInfo;
    if (at !== a) (backend as KernelBackend).disposeData(at.dataId);
    if (bt !== b) (backend as KernelBackend).disposeData(bt.dataId);
    return out;
  };
}

/** Other kernels a training step needs that tfjs-backend-wasm does not ship, gets wrong or runs naively. */
export function wasmMissingKernelConfigs(): KernelConfig[] {
  const configs: KernelConfig[] = [{ kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGradWasm }];
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (stock)
    configs.push({
      ...stock,
      kernelName: 'BatchMatMul',
      backendName: 'wasm',
      kernelFunc: batchMatMulViaTranspose(stock.kernelFunc),
    });
  return configs;
}
