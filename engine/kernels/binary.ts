/**
 * Element-wise binary ops (Add, Mul, ...) with numpy broadcasting. The shapes are collapsed to
 * the fewest dimensions with the same broadcast pattern, so the common cases (same shape,
 * scalar, a channel vector over NHWC, per-row values) all run as a tight innermost loop.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { type Args, type Values, compile, kernel, newValues, output, sizeOf, valuesOf } from './util.js';

/** Output element for inputs `a` and `b`; `int` says whether the op may run on int32. */
interface BinarySpec {
  expr: string;
  int: boolean;
  bool?: boolean;
}

// Comparisons as +(a > b): a setcc instead of a branch that mispredicts on random signs.
const SPECS: Record<string, BinarySpec> = {
  Add: { expr: 'a + b', int: true },
  Sub: { expr: 'a - b', int: true },
  Multiply: { expr: 'a * b', int: true },
  RealDiv: { expr: 'a / b', int: false },
  Maximum: { expr: 'Math.max(a, b)', int: true },
  Minimum: { expr: 'Math.min(a, b)', int: true },
  SquaredDifference: { expr: '(a - b) * (a - b)', int: true },
  Prelu: { expr: 'a < 0 ? b * a : a', int: false },
  Greater: { expr: '+(a > b)', int: true, bool: true },
  GreaterEqual: { expr: '+(a >= b)', int: true, bool: true },
  Less: { expr: '+(a < b)', int: true, bool: true },
  LessEqual: { expr: '+(a <= b)', int: true, bool: true },
  Equal: { expr: '+(a === b)', int: true, bool: true },
  NotEqual: { expr: '+(a !== b)', int: true, bool: true },
};

/** Collapsed iteration: dims outermost first; sa/sb = element strides, 0 where broadcast. */
export interface BroadcastPlan {
  outShape: number[];
  dims: number[];
  sa: number[];
  sb: number[];
}

export function broadcastPlan(aShape: number[], bShape: number[]): BroadcastPlan {
  const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const R = outShape.length;
  const dims: number[] = [];
  const fa: boolean[] = [];
  const fb: boolean[] = [];
  for (const [d, n] of outShape.entries()) {
    if (n === 1) continue;
    const af = (aShape[d - (R - aShape.length)] ?? 1) === n;
    const bf = (bShape[d - (R - bShape.length)] ?? 1) === n;
    const k = dims.length - 1;
    if (k >= 0 && fa[k] === af && fb[k] === bf) dims[k]! *= n;
    else {
      dims.push(n);
      fa.push(af);
      fb.push(bf);
    }
  }
  if (dims.length === 0) return { outShape, dims: [1], sa: [0], sb: [0] };
  const sa = new Array<number>(dims.length);
  const sb = new Array<number>(dims.length);
  let pa = 1;
  let pb = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    sa[i] = fa[i] ? pa : 0;
    sb[i] = fb[i] ? pb : 0;
    if (fa[i]) pa *= dims[i]!;
    if (fb[i]) pb *= dims[i]!;
  }
  return { outShape, dims, sa, sb };
}

type Loop = (A: Values, B: Values, O: Values, dims: number[], sa: number[], sb: number[]) => void;

function makeLoop(expr: string): Loop {
  return compile<Loop>(
    ['A', 'B', 'O', 'dims', 'sa', 'sb'],
    `
    const k = dims.length, n = dims[k - 1], ia1 = sa[k - 1], ib1 = sb[k - 1];
    let outer = 1;
    for (let d = 0; d < k - 1; d++) outer *= dims[d];
    const idx = new Int32Array(k);
    let ia = 0, ib = 0, o = 0;
    for (let r = 0; r < outer; r++) {
      if (ia1 !== 0 && ib1 !== 0) {
        for (let j = 0; j < n; j++) { const a = A[ia + j], b = B[ib + j]; O[o + j] = ${expr}; }
      } else if (ia1 !== 0) {
        const b = B[ib];
        for (let j = 0; j < n; j++) { const a = A[ia + j]; O[o + j] = ${expr}; }
      } else if (ib1 !== 0) {
        const a = A[ia];
        for (let j = 0; j < n; j++) { const b = B[ib + j]; O[o + j] = ${expr}; }
      } else {
        const a = A[ia], b = B[ib], v = ${expr};
        for (let j = 0; j < n; j++) O[o + j] = v;
      }
      o += n;
      for (let d = k - 2; d >= 0; d--) {
        ia += sa[d]; ib += sb[d];
        if (++idx[d] < dims[d]) break;
        idx[d] = 0; ia -= sa[d] * dims[d]; ib -= sb[d] * dims[d];
      }
    }`,
  );
}

/** One compiled loop per (op, input dtype): keeps each loop's typed-array accesses monomorphic. */
function specOf(name: string): BinarySpec {
  const s = SPECS[name];
  if (!s) throw new Error(`fast kernels: no binary op '${name}' (have ${Object.keys(SPECS).join(', ')})`);
  return s;
}

const loops = new Map<string, Loop>();

function loopFor(name: string, dtype: string): Loop {
  const key = `${name}:${dtype}`;
  let l = loops.get(key);
  if (!l) loops.set(key, (l = makeLoop(specOf(name).expr)));
  return l;
}

/** Runs a binary op on plain arrays; exported for the optimizer and batch-norm code. */
export function binaryValues(name: string, a: TensorInfo, b: TensorInfo, A: Values, B: Values): [number[], Values] {
  const spec = specOf(name);
  const plan = broadcastPlan(a.shape, b.shape);
  const dtype = spec.bool ? 'bool' : (a.dtype as 'float32' | 'int32');
  const O = newValues(dtype, sizeOf(plan.outShape));
  if (O.length > 0) loopFor(name, a.dtype)(A, B, O, plan.dims, plan.sa, plan.sb);
  return [plan.outShape, O];
}

function binaryKernel(name: string, spec: BinarySpec, backendName: string): KernelConfig {
  const [first, second] = name === 'Prelu' ? ['x', 'alpha'] : ['a', 'b'];
  return kernel(name, backendName, ({ inputs, backend }: Args) => {
    const a = inputs[first];
    const b = inputs[second];
    if (!a || !b || a.dtype !== b.dtype) return null;
    if (!(a.dtype === 'float32' || (spec.int && a.dtype === 'int32'))) return null;
    const [shape, O] = binaryValues(name, a, b, valuesOf(backend, a), valuesOf(backend, b));
    return output(backend, shape, spec.bool ? 'bool' : a.dtype, O);
  });
}

export function binaryKernels(backendName: string): KernelConfig[] {
  return Object.entries(SPECS).map(([name, spec]) => binaryKernel(name, spec, backendName));
}
