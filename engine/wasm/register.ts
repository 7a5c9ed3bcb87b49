/**
 * Makes the wasm backend able to train the studio's convnets: registers the kernels that
 * tfjs-backend-wasm lacks or runs naively (see conv-grads.ts). Call after importing
 * @tensorflow/tfjs-backend-wasm and before the backend runs; idempotent.
 */
import { tf } from '../tf.js';
import { wasmConvGradConfigs } from './conv-grads.js';
import { wasmMissingKernelConfigs } from './missing.js';

let done = false;

export function registerWasmTrainingKernels(): void {
  if (done) return;
  for (const k of [...wasmConvGradConfigs(), ...wasmMissingKernelConfigs()]) {
    if (tf.getKernel(k.kernelName, 'wasm')) tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(k);
  }
  done = true;
}
