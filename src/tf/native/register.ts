/**
 * The 'native' tfjs backend: the cpu backend (tensors stay TypedArrays in JS memory) with its
 * heavy kernels replaced by the C++ addon, then the project's fast element-wise kernels on top.
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelFunc } from '@tensorflow/tfjs-core';
import { fastKernelConfigs } from '../kernels/index.js';
import { noteEscaped, noteRegistered, releaseFloats } from '../pool.js';
import { tf } from '../tf.js';
import { loadAddon, type NativeAddon } from './addon.js';
import { elementwiseKernelConfigs } from './elementwise.js';
import { nativeKernelConfigs } from './kernels.js';
import { trainingKernelConfigs } from './training.js';

export type NativeStatus = { ok: true; simd: string; threads: number } | { ok: false; reason: string };

export const NATIVE_BACKEND = 'native';

type DataId = Parameters<MathBackendCPU['disposeData']>[0];

/** The cpu backend with kernel outputs recycled through src/tf/pool.ts. */
class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // The cpu backend prints a "use tfjs-node" banner on first use; this backend is the fast path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override write(values: Parameters<MathBackendCPU['write']>[0], shape: number[], dtype: Parameters<MathBackendCPU['write']>[2]): DataId {
    noteRegistered(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: Parameters<MathBackendCPU['move']>[1], shape: number[], dtype: Parameters<MathBackendCPU['move']>[3], refCount: number): void {
    noteEscaped(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): ReturnType<MathBackendCPU['readSync']> {
    const v = super.readSync(dataId);
    noteEscaped(v);
    return v;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const freed = super.disposeData(dataId, force);
    if (freed && values !== undefined && !this.data.has(dataId)) releaseFloats(values);
    return freed;
  }
}

let status: NativeStatus | null = null;
let loaded: NativeAddon | null = null;

function registerKernels(addon: NativeAddon): void {
  const cpuKernels = new Map(tf.getKernelsForBackend('cpu').map((k) => [k.kernelName, k]));
  const cpu = (name: string): KernelFunc => {
    const k = cpuKernels.get(name);
    if (!k) throw new Error(`the cpu backend has no ${name} kernel to fall back to`);
    return k.kernelFunc;
  };
  const put = (config: tf.KernelConfig): void => {
    if (tf.getKernel(config.kernelName, NATIVE_BACKEND)) tf.unregisterKernel(config.kernelName, NATIVE_BACKEND);
    tf.registerKernel({ ...config, backendName: NATIVE_BACKEND });
  };
  for (const k of cpuKernels.values()) put(k);
  for (const k of nativeKernelConfigs(addon, NATIVE_BACKEND, cpu)) put(k);
  // Last, so the element-wise/batch-norm/pooling kernels override the cpu ones.
  for (const k of fastKernelConfigs(NATIVE_BACKEND)) put(k);
  // The C++ element-wise and training kernels replace the JS ones where they cover the inputs.
  for (const k of elementwiseKernelConfigs(addon, NATIVE_BACKEND)) put(k);
  for (const k of trainingKernelConfigs(addon, NATIVE_BACKEND)) put(k);
}

/** Registers the 'native' backend once; later calls return the first result. */
export function registerNativeBackend(): NativeStatus {
  if (status) return status;
  const r = loadAddon();
  if ('reason' in r) {
    status = { ok: false, reason: r.reason };
    return status;
  }
  loaded = r.addon;
  registerKernels(r.addon);
  // Priority below tensorflow (tfjs-node) and above cpu/wasm; backend.ts chooses explicitly anyway.
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 3);
  const info = r.addon.info();
  status = { ok: true, simd: info.simd, threads: info.threads };
  return status;
}

/** The loaded addon, for benchmarks and tests that call kernels directly; null when unavailable. */
export function nativeAddon(): NativeAddon | null {
  registerNativeBackend();
  return loaded;
}

/** Threads the native kernels use (POSTER_STUDIO_THREADS or the number of cores at start). */
export function setNativeThreads(n: number): number {
  const addon = nativeAddon();
  if (!addon) throw new Error('the native addon is not available');
  return addon.setThreads(n);
}
