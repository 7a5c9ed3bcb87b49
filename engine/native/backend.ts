/**
 * The 'native' tfjs backend: the cpu backend (tensors stay TypedArrays in JS memory) with the
 * kernels of engine/registry.ts's table (C++, then JS, then tfjs cpu).
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { alignPoolArrays, noteEscaped, noteRegistered, releaseFloats } from '../buffer-pool.js';
import { tf } from '../tf.js';
import { loadAddon, type NativeAddon } from './addon.js';
import { registerNativeKernels } from '../registry.js';

export type NativeStatus = { ok: true; simd: string; threads: number } | { ok: false; reason: string };

export const NATIVE_BACKEND = 'native';

type DataId = Parameters<MathBackendCPU['disposeData']>[0];

/** The cpu backend with kernel outputs recycled through engine/buffer-pool.ts. */
class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // The cpu backend prints a "use tfjs-node" banner on first use; this backend is the fast path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  override write(
    values: Parameters<MathBackendCPU['write']>[0],
    shape: number[],
    dtype: Parameters<MathBackendCPU['write']>[2],
  ): DataId {
    noteRegistered(values);
    return super.write(values, shape, dtype);
  }

  override move(
    dataId: DataId,
    values: Parameters<MathBackendCPU['move']>[1],
    shape: number[],
    dtype: Parameters<MathBackendCPU['move']>[3],
    refCount: number,
  ): void {
    noteEscaped(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): ReturnType<MathBackendCPU['readSync']> {
    const v = super.readSync(dataId);
    noteEscaped(v);
    return v;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    // has() before get(): get() of an id this backend does not hold asks the engine to move the
    // data here from the backend that owns it, which is this one, and recurses until the stack
    // overflows (a tensor made from a bare dataId, or a custom kernel's output).
    const values = this.data.has(dataId) ? this.data.get(dataId)?.values : undefined;
    const freed = super.disposeData(dataId, force);
    if (freed && values !== undefined && !this.data.has(dataId)) releaseFloats(values);
    return freed;
  }
}

let status: NativeStatus | null = null;
let loaded: NativeAddon | null = null;

/** Registers the 'native' backend once; later calls return the first result. */
export function registerNativeBackend(): NativeStatus {
  if (status) return status;
  const r = loadAddon();
  if ('reason' in r) {
    status = { ok: false, reason: r.reason };
    return status;
  }
  loaded = r.addon;
  registerNativeKernels(r.addon, NATIVE_BACKEND);
  const addon = r.addon;
  alignPoolArrays((view) => addon.addressMod64(view));
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
