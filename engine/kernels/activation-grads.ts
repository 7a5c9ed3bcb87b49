/**
 * ReLU and leaky ReLU gradients as one pass each. tfjs writes them as dy * cast(step(x)) and
 * where(x > 0, dy, dy * alpha): 2-3 full-size tensors per activation per step. The gradient
 * registry is global, so the override dispatches: the fused kernel on a backend that has it,
 * tfjs's own gradient function everywhere else (tensorflow, wasm, cpu).
 */
import type { GradConfig, KernelConfig, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { type Args, count, inputsOf, output, valuesOf } from './util.js';
import { allocFloats } from '../buffer-pool.js';

export const RELU_GRAD = 'PosterStudioReluGrad';
export const LEAKY_RELU_GRAD = 'PosterStudioLeakyReluGrad';

/** dy * step(x): dy where x > 0, 0 below, NaN for a NaN x (as dy * NaN). */
function reluGrad({ inputs, backend }: Args): TensorInfo {
  const [dy, x] = inputsOf(inputs, 'dy', 'x');
  const DY = valuesOf(backend, dy);
  const X = valuesOf(backend, x);
  const O = allocFloats(X.length);
  // A table lookup on +(x > 0) instead of a branch that mispredicts on random signs.
  const K = new Float64Array([0, 1]);
  for (let i = 0; i < O.length; i++) {
    const v = X[i]!;
    O[i] = v !== v ? v : DY[i]! * K[+(v > 0)]!;
  }
  count(RELU_GRAD, true);
  return output(backend, x.shape, 'float32', O);
}

/** x > 0 ? dy : dy * alpha (alpha rounded to float32, as tfjs's scalar is). */
function leakyReluGrad({ inputs, attrs, backend }: Args): TensorInfo {
  const [dy, x] = inputsOf(inputs, 'dy', 'x');
  const DY = valuesOf(backend, dy);
  const X = valuesOf(backend, x);
  const O = allocFloats(X.length);
  const K = new Float64Array([Math.fround(attrs.alpha as number), 1]);
  for (let i = 0; i < O.length; i++) O[i] = DY[i]! * K[+(X[i]! > 0)]!;
  count(LEAKY_RELU_GRAD, true);
  return output(backend, x.shape, 'float32', O);
}

export function activationGradKernels(backendName: string): KernelConfig[] {
  return [
    { kernelName: RELU_GRAD, backendName, kernelFunc: reluGrad as unknown as KernelConfig['kernelFunc'] },
    { kernelName: LEAKY_RELU_GRAD, backendName, kernelFunc: leakyReluGrad as unknown as KernelConfig['kernelFunc'] },
  ];
}

function dispatching(kernelName: 'Relu' | 'LeakyRelu', fused: string): GradConfig | null {
  const stock = tf.getGradient(kernelName);
  if (!stock) return null;
  return {
    ...stock,
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const g = dy as Tensor;
      const [x] = saved;
      if (!x) throw new Error(`${kernelName} gradient: x was not saved`);
      if (
        g.dtype !== 'float32' ||
        x.dtype !== 'float32' ||
        g.size !== x.size ||
        tf.getKernel(fused, tf.getBackend()) === undefined
      ) {
        return stock.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(fused, { dy: g, x }, attrs) as Tensor };
    },
  };
}

let registered = false;

/** Idempotent; called by the registrations of the backends that have the fused kernels (registry.ts, fast-cpu-backend.ts). */
export function registerActivationGradients(): void {
  if (registered) return;
  registered = true;
  for (const c of [dispatching('Relu', RELU_GRAD), dispatching('LeakyRelu', LEAKY_RELU_GRAD)])
    if (c) tf.registerGradient(c);
}
