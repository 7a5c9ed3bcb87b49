/**
 * 2-D max pooling and its gradient on NHWC float32, channels innermost so every window pixel
 * is one contiguous run. The cpu backend's MaxPoolGrad visits every input pixel through
 * TensorBuffer.get and a search of all windows: 14 s for one classifier step at 161x106.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { type Args, kernel, output, valuesOf } from './util.js';
import { allocFloats } from '../buffer-pool.js';

type PoolInfo = ReturnType<typeof tf.backend_util.computePool2DInfo>;

function poolInfo(args: Args, shape: number[]): PoolInfo | null {
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (shape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(
    shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  return info;
}

/** For each output pixel: input rows/cols of its window, clipped to the image. */
function windowRange(o: number, stride: number, pad: number, filter: number, size: number): [number, number] {
  const corner = o * stride - pad;
  return [Math.max(0, corner), Math.min(size, corner + filter)];
}

/** 2x2 windows at stride 2 that all lie inside the image: the classifier's pooling. */
function isPlain2x2(info: PoolInfo): boolean {
  return (
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    2 * info.outHeight <= info.inHeight &&
    2 * info.outWidth <= info.inWidth
  );
}

/** Index of the first strict maximum of a window scanned row-major, skipping NaN; -1 if none. */
function scanWindow(X: Float32Array, idx: number[]): number {
  let best = -Infinity;
  let at = -1;
  for (const i of idx) {
    const v = X[i] ?? NaN;
    if (v > best) {
      best = v;
      at = i;
    }
  }
  return at;
}

/**
 * For each output element of a plain 2x2 pooling, the input index of its window's first strict
 * maximum: a branch-free tournament (comparisons as numbers, index arithmetic) instead of the
 * compare-and-branch that mispredicts on random data; about 2x faster. Windows holding NaN or
 * only -Infinity (the tournament's answer is then not > -Infinity) take the exact scan.
 */
function argmax2x2(X: Float32Array, info: PoolInfo): Int32Array {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const rowC = W * C;
  const at = new Int32Array(N * OH * OW * C);
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const p0 = ((b * H + 2 * oy) * W + 2 * ox) * C;
        const q0 = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          const i0 = p0 + c;
          const i1 = i0 + C;
          const i2 = i0 + rowC;
          const i3 = i2 + C;
          const a01 = i0 + +(X[i1]! > X[i0]!) * (i1 - i0);
          const a23 = i2 + +(X[i3]! > X[i2]!) * (i3 - i2);
          let a = a01 + +(X[a23]! > X[a01]!) * (a23 - a01);
          if (!(X[a]! > -Infinity)) a = scanWindow(X, [i0, i1, i2, i3]);
          at[q0 + c] = a;
        }
      }
    }
  }
  return at;
}

function maxPool(args: Args): ReturnType<Parameters<typeof kernel>[2]> {
  const x = args.inputs.x;
  if (!x || x.dtype !== 'float32') return null;
  const info = poolInfo(args, x.shape);
  // The cpu kernel returns a 1x1 pooling whose output keeps the input's shape as the input itself,
  // whatever its stride and padding (f=1, s=2, p=1 included, whose windows are mostly padding);
  // tfjs's own tests expect that answer, so it keeps those calls.
  if (!info || (info.filterHeight === 1 && info.filterWidth === 1 && tf.util.arraysEqual(info.inShape, info.outShape)))
    return null;
  const X = valuesOf(args.backend, x);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const O = allocFloats(N * OH * OW * C);
  if (isPlain2x2(info)) {
    const at = argmax2x2(X as Float32Array, info);
    for (let q = 0; q < O.length; q++) {
      const a = at[q]!;
      O[q] = a >= 0 ? X[a]! : -Infinity;
    }
    return output(args.backend, info.outShape, 'float32', O);
  }
  const m = new Float32Array(C);
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const [y0, y1] = windowRange(oy, info.strideHeight, info.padInfo.top, info.filterHeight, H);
      for (let ox = 0; ox < OW; ox++) {
        const [x0, x1] = windowRange(ox, info.strideWidth, info.padInfo.left, info.filterWidth, W);
        m.fill(-Infinity);
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const p = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) {
              const v = X[p + c]!;
              if (v > m[c]!) m[c] = v;
            }
          }
        }
        O.set(m, ((b * OH + oy) * OW + ox) * C);
      }
    }
  }
  return output(args.backend, info.outShape, 'float32', O);
}

/** Routes each dy to the first (row-major) maximum of its window, as the cpu backend does. */
function maxPoolGrad(args: Args): ReturnType<Parameters<typeof kernel>[2]> {
  const { dy, input } = args.inputs;
  if (!dy || !input || input.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const info = poolInfo(args, input.shape);
  if (!info) return null;
  const X = valuesOf(args.backend, input);
  const DY = valuesOf(args.backend, dy);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const DX = allocFloats(X.length, true);
  if (isPlain2x2(info)) {
    const at = argmax2x2(X as Float32Array, info);
    for (let q = 0; q < at.length; q++) {
      const a = at[q]!;
      if (a >= 0) DX[a]! += DY[q]!;
    }
    return output(args.backend, input.shape, 'float32', DX);
  }
  const m = new Float32Array(C);
  const at = new Int32Array(C);
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const [y0, y1] = windowRange(oy, info.strideHeight, info.padInfo.top, info.filterHeight, H);
      for (let ox = 0; ox < OW; ox++) {
        const [x0, x1] = windowRange(ox, info.strideWidth, info.padInfo.left, info.filterWidth, W);
        m.fill(-Infinity);
        at.fill(-1);
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const p = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) {
              const v = X[p + c]!;
              if (v > m[c]!) {
                m[c] = v;
                at[c] = p + c;
              }
            }
          }
        }
        const q = ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          const a = at[c]!;
          if (a >= 0) DX[a]! += DY[q + c]!;
        }
      }
    }
  }
  return output(args.backend, input.shape, 'float32', DX);
}

export function poolKernels(backendName: string): KernelConfig[] {
  return [kernel('MaxPool', backendName, maxPool), kernel('MaxPoolGrad', backendName, maxPoolGrad)];
}
