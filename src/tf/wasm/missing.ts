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
    filterSize: [number, number] | number; strides: [number, number] | number; pad: 'same' | 'valid' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight: SH, strideWidth: SW } = info;
  const FH = info.effectiveFilterHeight, FW = info.effectiveFilterWidth, pt = info.padInfo.top, pl = info.padInfo.left;
  const dx = b.makeOutput(input.shape, 'float32');
  const x = b.typedArrayFromHeap(input), g = b.typedArrayFromHeap(dy), out = b.typedArrayFromHeap(dx);
  out.fill(0);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = Math.max(0, oh * SH - pt), h1 = Math.min(H, oh * SH - pt + FH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = Math.max(0, ow * SW - pl), w1 = Math.min(W, ow * SW - pl + FW);
        const gi = ((n * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          let best = -Infinity, at = -1;
          for (let h = h0; h < h1; h++) {
            for (let w = w0; w < w1; w++) {
              const i = ((n * H + h) * W + w) * C + c;
              const v = x[i]!;
              if (v > best || at < 0 || Number.isNaN(v)) {
                if (at >= 0 && Number.isNaN(best)) continue;
                best = v; at = i;
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

/** Other kernels a training step needs that tfjs-backend-wasm does not ship or gets wrong. */
export function wasmMissingKernelConfigs(): KernelConfig[] {
  return [{ kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGradWasm }];
}
