/**
 * Shared plumbing of the fast kernels: they run on a MathBackendCPU (or a subclass), read the
 * TypedArrays it keeps in JS memory and hand anything they do not specialise back to the cpu
 * backend's own kernel, so every input the cpu backend accepts still works.
 */
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { tf } from '../tf.js';
import { allocFloats } from '../buffer-pool.js';

export type Values = Float32Array | Int32Array | Uint8Array;

export interface Args {
  inputs: Record<string, TensorInfo | undefined>;
  attrs: NamedAttrMap;
  backend: MathBackendCPU;
}

/** A fast path returns null when it does not cover the inputs; the cpu kernel then runs. */
export type FastPath = (args: Args) => TensorInfo | TensorInfo[] | null;

/**
 * The named inputs of a kernel call, in order. tfjs passes every input an op declares, so a
 * missing one means the kernel was called by hand with the wrong names: say which.
 */
export function inputsOf<const N extends readonly string[]>(
  inputs: Args['inputs'],
  ...names: N
): { [K in keyof N]: TensorInfo } {
  return names.map((n) => {
    const t = inputs[n];
    if (!t) throw new Error(`fast kernels: input '${n}' is missing (got ${Object.keys(inputs).join(', ') || 'none'})`);
    return t;
  }) as { [K in keyof N]: TensorInfo };
}

export function valuesOf(backend: MathBackendCPU, t: TensorInfo): Values {
  return backend.data.get(t.dataId).values as Values;
}

export function output(backend: MathBackendCPU, shape: number[], dtype: DataType, values: Values): TensorInfo {
  return backend.makeTensorInfo(shape, dtype, values);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function cpuKernel(name: string): KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`fast kernels: the cpu backend has no '${name}' kernel to fall back on`);
  return k.kernelFunc;
}

/** Counts fast-path hits and fallbacks per kernel, so tests and profiling can see which path ran. */
export const pathCounts = new Map<string, { fast: number; cpu: number }>();

export function count(name: string, fast: boolean): void {
  let c = pathCounts.get(name);
  if (!c) pathCounts.set(name, (c = { fast: 0, cpu: 0 }));
  if (fast) c.fast++;
  else c.cpu++;
}

export function kernel(name: string, backendName: string, fast: FastPath): KernelConfig {
  let cpu: KernelFunc | null = null;
  const kernelFunc = ((args: Args) => {
    const r = fast(args);
    if (r !== null) {
      count(name, true);
      return r;
    }
    count(name, false);
    cpu ??= cpuKernel(name);
    return cpu(args as unknown as Parameters<KernelFunc>[0]);
  }) as unknown as KernelFunc;
  return { kernelName: name, backendName, kernelFunc };
}

export function newValues(dtype: 'float32' | 'int32' | 'bool', n: number): Values {
  if (dtype === 'float32') return allocFloats(n);
  if (dtype === 'int32') return new Int32Array(n);
  return new Uint8Array(n);
}

/**
 * Loops are generated per expression so each op gets its own monomorphic, inlinable loop in V8;
 * one generic loop taking the op as a callback runs several times slower. The sources are
 * constant strings written in this directory, never user input.
 */
export function compile<T>(params: string[], body: string): T {
  return new Function(...params, body) as T;
}
