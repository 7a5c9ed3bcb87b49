/**
 * A stand-alone backend = the cpu backend + the fast kernels, for tests and benchmarks that
 * must run before (or without) the native addon; the 'native' backend registers the same
 * configs itself.
 */
import type { KernelBackend } from '@tensorflow/tfjs-core';
import { tf } from '../tf.js';
import { jsKernelConfigs } from '../registry.js';
import { registerActivationGradients } from './activation-grads.js';
import { registerConvReluGradient } from './conv-relu.js';

export function registerFastCpuBackend(name: string): void {
  if (tf.findBackendFactory(name) !== null) return;
  // The class of the cpu backend instance, so only engine/tf.ts imports TensorFlow.js.
  const Cpu = tf.findBackend('cpu')!.constructor as new () => KernelBackend;
  tf.registerBackend(name, () => {
    const b = new Cpu();
    // The cpu backend greets Node users with a banner on first use: not ours to print.
    (b as unknown as { firstUse: boolean }).firstUse = false;
    return b;
  });
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: name });
  for (const k of jsKernelConfigs(name)) {
    if (tf.getKernel(k.kernelName, name)) tf.unregisterKernel(k.kernelName, name);
    tf.registerKernel(k);
  }
  registerActivationGradients();
  registerConvReluGradient();
}
