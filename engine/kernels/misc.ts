/**
 * Tile, Select and FusedBatchNorm (inference form and the forward pass of training): the
 * remaining non-convolution ops a DCGAN or classifier step spends time in.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { type Args, type Values, kernel, newValues, output, sizeOf, valuesOf } from './util.js';
import { allocFloats } from '../buffer-pool.js';

/** Output rows are copies of input rows (innermost axis, repeated), found by index arithmetic. */
function tile({ inputs, attrs, backend }: Args): TensorInfo | null {
  const x = inputs.x;
  if (!x || !(x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool')) return null;
  const reps = attrs.reps as number[];
  const R = x.shape.length;
  if (R === 0 || reps.length !== R) return null;
  const outShape = x.shape.map((n, i) => n * reps[i]!); // reps.length === R, checked above
  const X = valuesOf(backend, x);
  const O = newValues(x.dtype, sizeOf(outShape));
  if (O.length === 0) return output(backend, outShape, x.dtype, O);
  const L = x.shape[R - 1]!; // R > 0, checked above
  const Lo = outShape[R - 1]!;
  const rows = O.length / Lo;
  const idx = new Int32Array(R - 1);
  for (let r = 0; r < rows; r++) {
    let src = 0;
    for (let d = 0; d < R - 1; d++) src = src * x.shape[d]! + (idx[d]! % x.shape[d]!);
    const row = X.subarray(src * L, src * L + L);
    const base = r * Lo;
    for (let k = 0; k < Lo; k += L) O.set(row, base + k);
    for (let d = R - 2; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return output(backend, outShape, x.dtype, O);
}

/** Only the element-wise form (condition shaped like t); per-row conditions keep the cpu path. */
function select({ inputs, backend }: Args): TensorInfo | null {
  const { condition, t, e } = inputs;
  if (!condition || !t || !e || t.dtype !== 'float32' || e.dtype !== 'float32') return null;
  const n = sizeOf(t.shape);
  if (sizeOf(condition.shape) !== n || sizeOf(e.shape) !== n || condition.shape.length !== t.shape.length) return null;
  const Cv = valuesOf(backend, condition);
  const T = valuesOf(backend, t);
  const E = valuesOf(backend, e);
  const O = allocFloats(n);
  // Bitwise select on the float bits (mask = -1 where the condition holds): exact and free of
  // the branch that mispredicts on a random mask (leaky ReLU's gradient).
  const Ti = new Int32Array(T.buffer, T.byteOffset, n);
  const Ei = new Int32Array(E.buffer, E.byteOffset, n);
  const Oi = new Int32Array(O.buffer);
  for (let i = 0; i < n; i++) {
    const e = Ei[i]!;
    Oi[i] = e ^ ((Ti[i]! ^ e) & -+(Cv[i] === 1));
  }
  return output(backend, t.shape, 'float32', O);
}

/** A per-channel parameter cycled with period C, as the cpu kernel's modulo indexing does. */
function cycled(backend: Args['backend'], t: TensorInfo | undefined, C: number, dflt: number): Float64Array | null {
  const out = new Float64Array(C);
  if (!t) return out.fill(dflt);
  if (t.dtype !== 'float32') return null;
  const v = valuesOf(backend, t);
  if (v.length !== 1 && v.length !== C) return null;
  if (v.length === 1) return out.fill(v[0]!);
  for (let c = 0; c < C; c++) out[c] = v[c]!;
  return out;
}

function fusedBatchNorm({ inputs, attrs, backend }: Args): TensorInfo | null {
  const { x, mean, variance, offset, scale } = inputs;
  if (!x || !mean || !variance || x.dtype !== 'float32') return null;
  const X = valuesOf(backend, x);
  const C = Math.max(
    sizeOf(mean.shape),
    sizeOf(variance.shape),
    offset ? sizeOf(offset.shape) : 1,
    scale ? sizeOf(scale.shape) : 1,
  );
  if (C === 0 || X.length % C !== 0) return null;
  const M = cycled(backend, mean, C, 0);
  const V = cycled(backend, variance, C, 0);
  const F = cycled(backend, offset, C, 0);
  const S = cycled(backend, scale, C, 1);
  if (!M || !V || !F || !S) return null;
  const eps = (attrs.varianceEpsilon as number | undefined) ?? 0.001;
  // scale / sqrt(var + eps) once per channel; the cpu kernel recomputes it per element.
  const K = new Float64Array(C);
  for (let c = 0; c < C; c++) K[c] = S[c]! / Math.sqrt(V[c]! + eps);
  const O: Values = allocFloats(X.length);
  for (let i = 0; i < X.length; i += C) {
    for (let c = 0; c < C; c++) O[i + c] = F[c]! + (X[i + c]! - M[c]!) * K[c]!;
  }
  return output(backend, x.shape, 'float32', O);
}

export function miscKernels(backendName: string): KernelConfig[] {
  return [
    kernel('Tile', backendName, tile),
    kernel('Select', backendName, select),
    kernel('FusedBatchNorm', backendName, fusedBatchNorm),
  ];
}
