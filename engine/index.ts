/**
 * The training engine's front door: models, commands and features import only this file.
 * Inside: the backend choice (backend.ts), the native backend's kernel table (registry.ts), the
 * C++ addon and its bindings (native/), the JS kernels (kernels/), the wasm gradient kernels
 * (wasm/), the buffer pool (buffer-pool.ts) and the fused training ops (ops/).
 */
export { tf, type LayersModel, type Tensor } from './tf.js';
export { BACKENDS, BACKEND_ENV, initBackend, type BackendName } from './backend.js';
export { NATIVE_KERNELS } from './registry.js';
export { PRECISIONS, inFp32, setPrecision, type Precision } from './precision.js';
export { batchNormTrain } from './kernels/batchnorm-train.js';
export { FusedAdamOptimizer, fusedAdam, fusedRmsprop } from './ops/optimizers.js';
export { Tf1Adam, type AdamOptions } from './ops/tf1-adam.js';
export { FastDropout } from './ops/dropout.js';
export { FastConv2D } from './ops/conv2d.js';
export { convRelu, convReluAvailable } from './kernels/conv-relu.js';
