/**
 * Element-wise, reduction and pooling kernels of the C++ addon (native/addon_elementwise.cc),
 * registered on the 'native' backend over the JS fast kernels. The JS loops run one thread at
 * ~2.7 ns/element; these are vectorised and split over the OpenMP threads. Each kernel covers
 * float32 in the layouts a training step produces and hands every other input to the kernel
 * registered before it (the JS fast kernel, or the cpu backend's).
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf.js';
import { allocFloats } from '../buffer-pool.js';
import { broadcastPlan } from '../kernels/binary.js';
import { LEAKY_RELU_GRAD, RELU_GRAD } from '../kernels/activation-grads.js';
import { reducePlan } from '../kernels/reduce.js';
import { leakyAlphaOf, RELU_GRAD_BIAS } from '../kernels/conv-relu.js';
import { setNativeDropoutMask } from '../ops/dropout.js';
import type { NativeAddon } from './addon.js';

/** The addon's element-wise exports (native/addon_elementwise.cc). */
export interface ElementwiseAddon {
  ewUnary(op: number, x: Float32Array, y: Float32Array, p0: number): void;
  ewBinary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    M: number,
    C: number,
    sa0: number,
    sa1: number,
    sb0: number,
    sb1: number,
  ): void;
  ewActGrad(op: number, dy: Float32Array, x: Float32Array, out: Float32Array, alpha: number): void;
  ewReluGradBias(
    dy: Float32Array,
    y: Float32Array,
    out: Float32Array,
    bias: Float32Array,
    M: number,
    C: number,
    alpha?: number,
  ): void;
  ewDropoutMask(out: Float32Array, threshold: number, scale: number, seed: number): void;
  ewSum(x: Float32Array, out: Float32Array, outer: number, reduce: number, inner: number, divisor: number): void;
  ewMaxPool2x2(
    x: Float32Array,
    y: Float32Array,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
  ): void;
  ewMaxPool2x2Grad(
    x: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    N: number,
    H: number,
    W: number,
    C: number,
    OH: number,
    OW: number,
  ): void;
}

// Op codes of elementwise.h.
interface UnarySpec {
  code: number;
  p0?: (attrs: NamedAttrMap) => number;
}

const UNARY: Record<string, UnarySpec> = {
  Relu: { code: 0 },
  LeakyRelu: { code: 1, p0: (a) => a.alpha as number },
  Tanh: { code: 2 },
  Sigmoid: { code: 3 },
  Square: { code: 4 },
  Neg: { code: 5 },
  Abs: { code: 6 },
  Floor: { code: 7 },
  Step: { code: 8, p0: (a) => a.alpha as number },
  Exp: { code: 10 },
  Relu6: { code: 11 },
};
const BINARY: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4 };

/** Calls that took the C++ path, per kernel name (tests check the path they meant to cover ran). */
export const nativeCounts = new Map<string, number>();

type Args = { inputs: Record<string, TensorInfo | undefined>; attrs: NamedAttrMap; backend: MathBackendCPU };
type Fast = (args: Args) => TensorInfo | TensorInfo[] | null;

function f32(backend: MathBackendCPU, t: TensorInfo): Float32Array | null {
  const v = backend.data.get(t.dataId).values;
  return t.dtype === 'float32' && v instanceof Float32Array ? v : null;
}

const out = (backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo =>
  backend.makeTensorInfo(shape, 'float32', values);

export function elementwiseKernelConfigs(addon: NativeAddon, backendName: string): KernelConfig[] {
  const ew = addon as unknown as Partial<ElementwiseAddon>;
  // An addon built before these kernels existed: keep the JS ones.
  if (
    typeof ew.ewUnary !== 'function' ||
    typeof ew.ewMaxPool2x2Grad !== 'function' ||
    typeof ew.ewReluGradBias !== 'function' ||
    typeof ew.ewDropoutMask !== 'function'
  )
    return [];
  const A = ew as ElementwiseAddon;
  setNativeDropoutMask({
    backendName,
    fill: (out, threshold, scale, seed) => A.ewDropoutMask(out, threshold, scale, seed),
  });

  const wrap = (name: string, fast: Fast): KernelConfig => {
    // The kernel registered before this one (JS fast kernel or cpu), looked up once at registration.
    const previous: KernelFunc | undefined =
      tf.getKernel(name, backendName)?.kernelFunc ?? tf.getKernel(name, 'cpu')?.kernelFunc;
    const kernelFunc = ((args: Args) => {
      const r = fast(args);
      if (r !== null) {
        nativeCounts.set(name, (nativeCounts.get(name) ?? 0) + 1);
        return r;
      }
      if (!previous) throw new Error(`native ${name}: no earlier kernel for these inputs`);
      return previous(args as unknown as Parameters<KernelFunc>[0]);
    }) as unknown as KernelFunc;
    return { kernelName: name, backendName, kernelFunc };
  };

  const unary = ([name, spec]: [string, UnarySpec]): KernelConfig => {
    return wrap(name, ({ inputs, attrs, backend }) => {
      const x = inputs.x;
      const X = x && f32(backend, x);
      if (!x || !X) return null;
      const Y = allocFloats(X.length);
      if (Y.length > 0) A.ewUnary(spec.code, X, Y, spec.p0 ? spec.p0(attrs) : 0);
      return out(backend, x.shape, Y);
    });
  };

  const binary = ([name, code]: [string, number]): KernelConfig =>
    wrap(name, ({ inputs, backend }) => {
      const { a, b } = inputs;
      const Av = a && f32(backend, a);
      const Bv = b && f32(backend, b);
      if (!a || !b || !Av || !Bv) return null;
      const plan = broadcastPlan(a.shape, b.shape);
      // Same shape, scalars, and one broadcast axis ([M, C] op [C], [M, 1] op [M, C], ...).
      if (plan.dims.length > 2) return null;
      const [M, C] = plan.dims.length === 2 ? plan.dims : [1, plan.dims[0]];
      const [sa0, sa1] = plan.dims.length === 2 ? plan.sa : [0, plan.sa[0]];
      const [sb0, sb1] = plan.dims.length === 2 ? plan.sb : [0, plan.sb[0]];
      // broadcastPlan gives at least one dim and a stride per dim: these hold, for the compiler.
      if (
        M === undefined ||
        C === undefined ||
        sa0 === undefined ||
        sa1 === undefined ||
        sb0 === undefined ||
        sb1 === undefined
      )
        return null;
      const O = allocFloats(M * C);
      if (O.length > 0) A.ewBinary(code, Av, Bv, O, M, C, sa0, sa1, sb0, sb1);
      return out(backend, plan.outShape, O);
    });

  const actGrad = (name: string, code: number): KernelConfig =>
    wrap(name, ({ inputs, attrs, backend }) => {
      const { dy, x } = inputs;
      const DY = dy && f32(backend, dy);
      const X = x && f32(backend, x);
      if (!dy || !x || !DY || !X || DY.length !== X.length) return null;
      const O = allocFloats(X.length);
      // alpha as float32, like the scalar tensor of tfjs's own gradient.
      if (O.length > 0) A.ewActGrad(code, DY, X, O, code === 1 ? Math.fround(attrs.alpha as number) : 0);
      return out(backend, x.shape, O);
    });

  const reluGradBias = wrap(RELU_GRAD_BIAS, ({ inputs, backend, attrs }) => {
    const { dy, y } = inputs;
    const DY = dy && f32(backend, dy);
    const Y = y && f32(backend, y);
    const C = y?.shape[y.shape.length - 1] ?? 0;
    if (!dy || !y || !DY || !Y || DY.length !== Y.length || C === 0 || Y.length === 0) return null;
    const O = allocFloats(Y.length);
    const bias = new Float32Array(C);
    A.ewReluGradBias(DY, Y, O, bias, Y.length / C, C, leakyAlphaOf(attrs));
    return [out(backend, y.shape, O), out(backend, [C], bias)];
  });

  const reduce = (name: 'Sum' | 'Mean'): KernelConfig =>
    wrap(name, ({ inputs, attrs, backend }) => {
      const x = inputs.x;
      const X = x && f32(backend, x);
      // Empty inputs keep the earlier kernel's conventions (e.g. the Mean of nothing).
      if (!x || !X || X.length === 0) return null;
      const plan = reducePlan(x.shape, attrs.axis as number | number[]);
      if (!plan) return null;
      const red = new Set(plan.axes);
      const shape = x.shape.flatMap((n, d) => (!red.has(d) ? [n] : attrs.keepDims ? [1] : []));
      const O = allocFloats(plan.outer * plan.inner);
      A.ewSum(X, O, plan.outer, plan.reduce, plan.inner, name === 'Mean' ? plan.reduce : 1);
      return out(backend, shape, O);
    });

  type PoolInfo = ReturnType<typeof tf.backend_util.computePool2DInfo>;
  /** Geometry of a 2x2 stride-2 pooling whose windows lie inside the image, else null. */
  const plain2x2 = (attrs: NamedAttrMap, shape: number[]): PoolInfo | null => {
    const a = attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: 'valid' | 'same' | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    if (shape.length !== 4) return null;
    const info = tf.backend_util.computePool2DInfo(
      shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const ok =
      info.filterHeight === 2 &&
      info.filterWidth === 2 &&
      info.strideHeight === 2 &&
      info.strideWidth === 2 &&
      info.dilationHeight === 1 &&
      info.dilationWidth === 1 &&
      info.padInfo.top === 0 &&
      info.padInfo.left === 0 &&
      2 * info.outHeight <= info.inHeight &&
      2 * info.outWidth <= info.inWidth;
    return ok ? info : null;
  };

  const maxPool = wrap('MaxPool', ({ inputs, attrs, backend }) => {
    const x = inputs.x;
    const X = x && f32(backend, x);
    if (!x || !X) return null;
    const info = plain2x2(attrs, x.shape);
    if (!info) return null;
    const Y = allocFloats(info.batchSize * info.outHeight * info.outWidth * info.outChannels);
    if (Y.length > 0)
      A.ewMaxPool2x2(X, Y, info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth);
    return out(backend, info.outShape, Y);
  });

  const maxPoolGrad = wrap('MaxPoolGrad', ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs;
    const X = input && f32(backend, input);
    const DY = dy && f32(backend, dy);
    if (!dy || !input || !X || !DY) return null;
    const info = plain2x2(attrs, input.shape);
    if (!info || DY.length !== info.batchSize * info.outHeight * info.outWidth * info.outChannels) return null;
    const DX = allocFloats(X.length);
    if (DX.length > 0)
      A.ewMaxPool2x2Grad(
        X,
        DY,
        DX,
        info.batchSize,
        info.inHeight,
        info.inWidth,
        info.inChannels,
        info.outHeight,
        info.outWidth,
      );
    return out(backend, input.shape, DX);
  });

  return [
    ...Object.entries(UNARY).map(unary),
    ...Object.entries(BINARY).map(binary),
    actGrad(RELU_GRAD, 0),
    actGrad(LEAKY_RELU_GRAD, 1),
    reluGradBias,
    reduce('Sum'),
    reduce('Mean'),
    maxPool,
    maxPoolGrad,
  ];
}
