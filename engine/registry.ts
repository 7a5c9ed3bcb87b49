/**
 * The one registration table of the 'native' backend: per kernel, the implementations it tries
 * in order. Each hands the inputs it does not cover (other dtypes, broadcasts, geometries) to the
 * next, so the first one that covers a call runs it. Every other tfjs kernel is tfjs cpu alone.
 * registerNativeKernels builds the chains from the layer lists below and refuses to start when
 * they disagree with this table, so the table cannot drift from the code.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { activationGradKernels, registerActivationGradients } from './kernels/activation-grads.js';
import { batchNormTrainKernels } from './kernels/batchnorm-train.js';
import { convReluKernels, registerConvReluGradient } from './kernels/conv-relu.js';
import { binaryKernels } from './kernels/binary.js';
import { poolKernels } from './kernels/max-pool.js';
import { miscKernels } from './kernels/misc.js';
import { reduceKernels } from './kernels/reduce.js';
import { unaryKernels } from './kernels/unary.js';
import type { NativeAddon } from './native/addon.js';
import { elementwiseKernelConfigs } from './native/elementwise.js';
import { nativeKernelConfigs } from './native/kernels.js';
import { trainingKernelConfigs } from './native/training.js';
import { tf } from './tf.js';

export type Impl = 'C++' | 'JS' | 'tfjs cpu';

const CPP_JS_CPU: readonly Impl[] = ['C++', 'JS', 'tfjs cpu'];
const CPP_CPU: readonly Impl[] = ['C++', 'tfjs cpu'];
const CPP_JS: readonly Impl[] = ['C++', 'JS'];
const JS_CPU: readonly Impl[] = ['JS', 'tfjs cpu'];
const JS: readonly Impl[] = ['JS'];

/** C++: engine/native/*.ts (sources in engine/native/*.cc); JS: engine/kernels/*.ts. */
export const NATIVE_KERNELS: Readonly<Record<string, readonly Impl[]>> = {
  // convolutions and matrix products (native/kernels.ts)
  Conv2D: CPP_CPU,
  FusedConv2D: CPP_CPU,
  Conv2DBackpropInput: CPP_CPU,
  Conv2DBackpropFilter: CPP_CPU,
  BatchMatMul: CPP_CPU,
  _FusedMatMul: CPP_CPU,
  // element-wise (native/elementwise.ts, kernels/unary.ts, kernels/binary.ts)
  Relu: CPP_JS_CPU,
  LeakyRelu: CPP_JS_CPU,
  Relu6: CPP_JS_CPU,
  Tanh: CPP_JS_CPU,
  Sigmoid: CPP_JS_CPU,
  Square: CPP_JS_CPU,
  Neg: CPP_JS_CPU,
  Abs: CPP_JS_CPU,
  Floor: CPP_JS_CPU,
  Step: CPP_JS_CPU,
  Exp: CPP_JS_CPU,
  Add: CPP_JS_CPU,
  Sub: CPP_JS_CPU,
  Multiply: CPP_JS_CPU,
  RealDiv: CPP_JS_CPU,
  SquaredDifference: CPP_JS_CPU,
  Elu: JS_CPU,
  Sqrt: JS_CPU,
  Rsqrt: JS_CPU,
  Reciprocal: JS_CPU,
  Log: JS_CPU,
  Log1p: JS_CPU,
  Softplus: JS_CPU,
  ClipByValue: JS_CPU,
  Maximum: JS_CPU,
  Minimum: JS_CPU,
  Prelu: JS_CPU,
  Select: JS_CPU,
  Greater: JS_CPU,
  GreaterEqual: JS_CPU,
  Less: JS_CPU,
  LessEqual: JS_CPU,
  Equal: JS_CPU,
  NotEqual: JS_CPU,
  // the fused ReLU/leaky-ReLU gradients (kernels/activation-grads.ts); tfjs has no such kernels
  PosterStudioReluGrad: CPP_JS,
  PosterStudioLeakyReluGrad: CPP_JS,
  // conv + bias + ReLU as one op in training (kernels/conv-relu.ts): the forward kernel is the
  // backend's FusedConv2D; the backward pass starts with the ReLU gradient and its bias sum at once
  PosterStudioConv2DRelu: JS,
  PosterStudioReluGradBias: CPP_JS,
  // reductions and 2x2 max pooling (kernels/reduce.ts, kernels/max-pool.ts)
  Sum: CPP_JS_CPU,
  Mean: CPP_JS_CPU,
  Max: JS_CPU,
  Min: JS_CPU,
  MaxPool: CPP_JS_CPU,
  MaxPoolGrad: CPP_JS_CPU,
  // batch norm: inference (kernels/misc.ts) and training (native/training.ts, kernels/batchnorm-train.ts)
  FusedBatchNorm: JS_CPU,
  PosterStudioBatchNormTrain: CPP_JS,
  PosterStudioBatchNormTrainGrad: CPP_JS,
  Tile: JS_CPU,
};

/** The JS kernels, each falling back to the cpu backend's own kernel (also the 'fast-cpu' test backend). */
export function jsKernelConfigs(backendName: string): KernelConfig[] {
  return [
    ...binaryKernels(backendName),
    ...unaryKernels(backendName),
    ...reduceKernels(backendName),
    ...poolKernels(backendName),
    ...miscKernels(backendName),
    ...batchNormTrainKernels(backendName),
    ...activationGradKernels(backendName),
    ...convReluKernels(backendName),
  ];
}

function cppKernelConfigs(addon: NativeAddon, backendName: string, cpu: (name: string) => KernelFunc): KernelConfig[] {
  return [
    ...nativeKernelConfigs(addon, backendName, cpu),
    ...elementwiseKernelConfigs(addon, backendName),
    ...trainingKernelConfigs(addon, backendName),
  ];
}

/**
 * Registers every kernel of the 'native' backend, lowest layer first: the C++ element-wise
 * kernels look up the kernel registered before them (the JS one) as their fallback. Also
 * replaces tfjs's global Relu/LeakyRelu gradients by ones that run the fused gradient kernels
 * where the active backend has them (and tfjs's own formula on every other backend).
 */
export function registerNativeKernels(addon: NativeAddon, backendName: string): void {
  const cpuKernels = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k]));
  const cpu = (name: string): KernelFunc => {
    const k = cpuKernels.get(name);
    if (!k) throw new Error(`the cpu backend has no ${name} kernel to fall back to`);
    return k.kernelFunc;
  };
  const put = (config: KernelConfig): void => {
    if (tf.getKernel(config.kernelName, backendName)) tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({ ...config, backendName });
  };
  for (const k of cpuKernels.values()) put(k);
  const js = jsKernelConfigs(backendName);
  for (const k of js) put(k);
  // After the JS kernels: built now, the C++ wrappers capture them as their fallback.
  const cpp = cppKernelConfigs(addon, backendName, cpu);
  for (const k of cpp) put(k);
  checkTable(new Set(cpp.map((k) => k.kernelName)), new Set(js.map((k) => k.kernelName)), new Set(cpuKernels.keys()));
  registerActivationGradients();
  registerConvReluGradient();
}

function checkTable(cpp: Set<string>, js: Set<string>, cpu: Set<string>): void {
  const names = new Set([...cpp, ...js, ...Object.keys(NATIVE_KERNELS)]);
  for (const name of names) {
    const built = [
      cpp.has(name) && 'C++',
      js.has(name) && 'JS',
      (cpp.has(name) || js.has(name)) && cpu.has(name) && 'tfjs cpu',
    ].filter(Boolean);
    const table = NATIVE_KERNELS[name] ?? [];
    // An addon built before the element-wise/training exports registers fewer C++ kernels.
    const expected = cpp.has(name) ? table : table.filter((i) => i !== 'C++');
    if (built.join(' > ') !== expected.join(' > ')) {
      throw new Error(
        `engine/registry.ts: ${name} is registered as '${built.join(' > ')}' but the table says '${table.join(' > ')}'`,
      );
    }
  }
}
