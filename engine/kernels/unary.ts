/**
 * Element-wise unary ops on float32 as one tight loop each (the cpu backend calls a closure per
 * element). Formulas match the cpu backend's, including NaN handling, so results agree bit for
 * bit up to the float32 rounding of Math functions done in double.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { type Args, type Values, compile, kernel, output, valuesOf } from './util.js';
import { allocFloats } from '../buffer-pool.js';

// Softplus cut-offs as the cpu backend defines them (float32 epsilon).
const SOFTPLUS_EPS = 1.1920928955078125e-7;
const SOFTPLUS_T = Math.log(SOFTPLUS_EPS) + 2.0;

/** Expression of `x` and the op's numeric attributes p0, p1. */
interface UnarySpec {
  expr: string;
  attrs?: (attrs: Args['attrs']) => [number, number];
}

const SPECS: Record<string, UnarySpec> = {
  // Branch-free forms: activations see random signs, and a data-dependent branch mispredicts
  // half the time (measured 3-5x slower than plain arithmetic over 4M elements).
  Relu: { expr: '(x + Math.abs(x)) * 0.5' },
  Relu6: { expr: 'Math.min(Math.max(0, x), 6)' },
  // p0 * x + p1 * |x| with p0 = (1 + alpha) / 2, p1 = (1 - alpha) / 2: x for x >= 0, alpha * x below.
  LeakyRelu: {
    expr: 'p0 * x + p1 * Math.abs(x)',
    attrs: (a) => [(1 + (a.alpha as number)) / 2, (1 - (a.alpha as number)) / 2],
  },
  Elu: { expr: 'x >= 0 ? x : Math.exp(x) - 1' },
  Tanh: { expr: 'Math.tanh(x)' },
  Sigmoid: { expr: '1 / (1 + Math.exp(-x))' },
  // The NaN test never fires on real data, so it predicts perfectly; +(x > 0) compiles to a setcc.
  Step: { expr: 'x !== x ? x : p0 + (1 - p0) * +(x > 0)', attrs: (a) => [a.alpha as number, 0] },
  Square: { expr: 'x * x' },
  Sqrt: { expr: 'Math.sqrt(x)' },
  Rsqrt: { expr: '1 / Math.sqrt(x)' },
  Reciprocal: { expr: '1 / x' },
  Exp: { expr: 'Math.exp(x)' },
  Log: { expr: 'Math.log(x)' },
  Log1p: { expr: 'Math.log1p(x)' },
  Neg: { expr: '-x' },
  Abs: { expr: 'Math.abs(x)' },
  Floor: { expr: 'Math.floor(x)' },
  Softplus: {
    expr: `x < ${SOFTPLUS_T} ? Math.exp(x) : (x > ${-SOFTPLUS_T} ? x : Math.log(1.0 + Math.exp(x)))`,
  },
  ClipByValue: {
    expr: 'x > p1 ? p1 : (x < p0 ? p0 : x)',
    attrs: (a) => [a.clipValueMin as number, a.clipValueMax as number],
  },
};

function specOf(name: string): UnarySpec {
  const s = SPECS[name];
  if (!s) throw new Error(`fast kernels: no unary op '${name}' (have ${Object.keys(SPECS).join(', ')})`);
  return s;
}

type Loop = (A: Values, O: Values, p0: number, p1: number) => void;

const loops = new Map<string, Loop>();

export function unaryLoop(name: string): Loop {
  let l = loops.get(name);
  if (!l) {
    l = compile<Loop>(
      ['A', 'O', 'p0', 'p1'],
      `const n = O.length; for (let i = 0; i < n; i++) { const x = A[i]; O[i] = ${specOf(name).expr}; }`,
    );
    loops.set(name, l);
  }
  return l;
}

function unaryKernel(name: string, spec: UnarySpec, backendName: string): KernelConfig {
  return kernel(name, backendName, ({ inputs, attrs, backend }: Args) => {
    const x = inputs.x;
    if (!x || x.dtype !== 'float32') return null;
    const X = valuesOf(backend, x);
    const O = allocFloats(X.length);
    const [p0, p1] = spec.attrs ? spec.attrs(attrs) : [0, 0];
    unaryLoop(name)(X, O, p0, p1);
    return output(backend, x.shape, 'float32', O);
  });
}

export function unaryKernels(backendName: string): KernelConfig[] {
  return Object.entries(SPECS).map(([name, spec]) => unaryKernel(name, spec, backendName));
}
