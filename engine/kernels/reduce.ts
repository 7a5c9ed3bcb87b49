/**
 * Sum / Mean / Max / Min over any set of axes that collapses to outer x reduced x inner
 * (batch norm's moments over [0,1,2] of NHWC, bias gradients, losses). The cpu backend
 * transposes the reduced axes innermost first, which costs more than the reduction itself.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { type Args, type Values, kernel, output } from './util.js';
import { allocFloats } from '../buffer-pool.js';

/** x viewed as [outer, reduce, inner], or null when the reduced axes are not one block. */
export function reducePlan(
  shape: number[],
  axis: number | number[],
): { outer: number; reduce: number; inner: number; axes: number[] } | null {
  const axes = [...new Set(tf.util.parseAxisParam(axis, shape))].sort((p, q) => p - q);
  const red = new Set(axes);
  let outer = 1;
  let reduce = 1;
  let inner = 1;
  let stage = 0; // 0: before the reduced block, 1: inside it, 2: after it
  for (const [d, n] of shape.entries()) {
    if (n === 1) continue;
    const r = red.has(d);
    if (stage === 0 && r) stage = 1;
    else if (stage === 1 && !r) stage = 2;
    else if (stage === 2 && r) return null;
    if (stage === 0) outer *= n;
    else if (stage === 1) reduce *= n;
    else inner *= n;
  }
  return { outer, reduce, inner, axes };
}

function outShape(shape: number[], axes: number[], keepDims: boolean): number[] {
  const red = new Set(axes);
  const out: number[] = [];
  shape.forEach((n, d) => {
    if (!red.has(d)) out.push(n);
    else if (keepDims) out.push(1);
  });
  return out;
}

/** Column sums in double precision, in the same order as the cpu backend adds. */
export function sumInto(X: Values, outer: number, reduce: number, inner: number, O: Values, divisor: number): void {
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let s = 0;
      const base = o * reduce;
      for (let r = 0; r < reduce; r++) s += X[base + r]!;
      O[o] = s / divisor;
    }
    return;
  }
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    let p = o * reduce * inner;
    for (let r = 0; r < reduce; r++, p += inner) {
      for (let j = 0; j < inner; j++) acc[j]! += X[p + j]!;
    }
    const q = o * inner;
    for (let j = 0; j < inner; j++) O[q + j] = acc[j]! / divisor;
  }
}

function extremeInto(X: Values, outer: number, reduce: number, inner: number, O: Values, isMax: boolean): void {
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    let p = o * reduce * inner;
    for (let j = 0; j < inner; j++) acc[j] = X[p + j]!;
    for (let r = 0; r < reduce; r++, p += inner) {
      if (isMax) {
        for (let j = 0; j < inner; j++) {
          const v = X[p + j]!;
          if (v > acc[j]! || v !== v) acc[j] = v;
        }
      } else {
        for (let j = 0; j < inner; j++) {
          const v = X[p + j]!;
          if (v < acc[j]! || v !== v) acc[j] = v;
        }
      }
    }
    const q = o * inner;
    for (let j = 0; j < inner; j++) O[q + j] = acc[j]!;
  }
}

type Op = 'Sum' | 'Mean' | 'Max' | 'Min';

function reduceKernel(name: Op, backendName: string): KernelConfig {
  return kernel(name, backendName, ({ inputs, attrs, backend }: Args) => {
    const x = inputs.x;
    if (!x) return null;
    // int32 sums stay exact in double; other int32/bool reductions keep the cpu path.
    if (!(x.dtype === 'float32' || (name === 'Sum' && x.dtype === 'int32'))) return null;
    // Max names its axes reductionIndices; the others call them axis.
    const plan = reducePlan(x.shape, (attrs.axis ?? attrs.reductionIndices) as number | number[]);
    if (!plan) return null;
    const shape = outShape(x.shape, plan.axes, attrs.keepDims as boolean);
    const n = plan.outer * plan.inner;
    const X = backend.data.get(x.dataId).values as Values;
    const O = x.dtype === 'int32' ? new Int32Array(n) : allocFloats(n);
    // Empty inputs keep the cpu backend's conventions (e.g. its Mean of nothing).
    if (X.length === 0) return null;
    if (name === 'Sum' || name === 'Mean') {
      sumInto(X, plan.outer, plan.reduce, plan.inner, O, name === 'Mean' ? plan.reduce : 1);
    } else {
      extremeInto(X, plan.outer, plan.reduce, plan.inner, O, name === 'Max');
    }
    return output(backend, shape, x.dtype, O);
  });
}

export function reduceKernels(backendName: string): KernelConfig[] {
  return (['Sum', 'Mean', 'Max', 'Min'] as const).map((n) => reduceKernel(n, backendName));
}
