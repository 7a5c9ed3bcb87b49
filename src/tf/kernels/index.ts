import type { KernelConfig } from '@tensorflow/tfjs-core';
import { batchNormTrainKernels } from './batchnorm-train.js';
import { binaryKernels } from './binary.js';
import { activationGradKernels } from './grads.js';
import { miscKernels } from './misc.js';
import { poolKernels } from './pool.js';
import { reduceKernels } from './reduce.js';
import { unaryKernels } from './unary.js';

/**
 * Fast kernels for the non-convolution ops of a training step (element-wise, batch norm,
 * reductions, pooling), registered on the 'native' backend on top of the cpu backend's.
 * Each runs on the MathBackendCPU's TypedArrays and hands any case it does not specialise
 * (other dtypes, unusual broadcasts or axes) to the cpu backend's own kernel.
 * Side effect: the Relu/LeakyRelu gradients are replaced by versions that use the fused
 * gradient kernels where the active backend has them and tfjs's own formula elsewhere.
 */
export function fastKernelConfigs(backendName: string): KernelConfig[] {
  return [
    ...binaryKernels(backendName),
    ...unaryKernels(backendName),
    ...reduceKernels(backendName),
    ...poolKernels(backendName),
    ...miscKernels(backendName),
    ...batchNormTrainKernels(backendName),
    ...activationGradKernels(backendName),
  ];
}

export { pathCounts } from './util.js';
export { batchNormTrain } from './batchnorm-train.js';
export { FusedAdamOptimizer, FusedRMSPropOptimizer, fusedAdam, fusedAdamUpdate, fusedRmsprop } from './optimizers.js';
