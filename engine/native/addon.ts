/**
 * Loads the C++ kernels that `npm install` builds (binding.gyp → build/Release). The addon is
 * optional at run time: a failed build leaves the studio on a slower backend, so loading reports
 * why instead of throwing.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  conv2d(
    x: Float32Array,
    w: Float32Array,
    y: Float32Array,
    geom: Int32Array,
    bias: Float32Array | null,
    act: number,
    alpha: number,
  ): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geom: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: Int32Array): void;
  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    bias: Float32Array | null,
    act: number,
    alpha: number,
  ): void;
  /** Where the view's first byte falls within a 64-byte cache line (0 = on a line). */
  addressMod64(view: ArrayBufferView): number;
  setThreads(n: number): number;
  /** Switches the SIMD path ('avx512' | 'avx2' | 'portable'); throws for one the CPU lacks. */
  setSimd(name: string): string;
  /** GFLOP/s of a path's multiply-adds (or 'avx512_bf16' dot products, 'amx_bf16' tiles) on every core at once. */
  peak(set: string, seconds: number): number;
  /**
   * c[m x n] = op(a) op(b) (+= with accumulate) on AMX tiles: a and b rounded to bf16 (nearest
   * even), sums in fp32; op = transpose when trans*. Throws when info().amx is false.
   */
  amxMatmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void;
  /**
   * 'bf16': convolutions (but those of 1-4 channel images) and matrix products round their inputs
   * to bf16 and run on AMX tiles with fp32 sums; 'fp32' (the default) the SIMD path's fp32 kernels.
   * Throws for bf16 when info().amx is false.
   */
  setPrecision(precision: 'fp32' | 'bf16'): string;
  info(): {
    simd: string;
    threads: number;
    cores: number;
    threadLimit: number;
    supported: string[];
    /** AVX-512 BF16 dot products (vdpbf16ps) usable. */
    bf16: boolean;
    /** AMX bf16 tiles usable: CPU, OS state and the kernel's permission (POSTER_STUDIO_AMX=0 turns it off). */
    amx: boolean;
    precision: 'fp32' | 'bf16';
  };
}

/** Forces the native kernels' SIMD path (avx512 | avx2 | portable); the addon refuses one the CPU lacks. */
export const SIMD_ENV = 'POSTER_STUDIO_SIMD';

export const ADDON_FILE = join('build', 'Release', 'poster_studio_native.node');

/** Activation codes shared with kernels.h. */
export const ACT: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5 };

function findAddon(): string | null {
  // dist/engine/native → the package root is a few levels up; walk rather than hard-code the depth.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

let cached: { addon: NativeAddon } | { reason: string } | null = null;

export function loadAddon(): { addon: NativeAddon } | { reason: string } {
  if (cached) return cached;
  const file = findAddon();
  if (!file) {
    cached = {
      reason: `${ADDON_FILE} is missing (the native build failed or did not run; 'npm rebuild' retries it, it needs g++, make and python3)`,
    };
    return cached;
  }
  // OpenMP's idle threads spin by default; on machines shared with other work (and between our
  // kernels, while JS runs the element-wise ops) sleeping costs less. libgomp reads this once, as
  // it loads; it is removed again so child processes (PyTorch in the benchmark) keep their default.
  const policySet = process.env.OMP_WAIT_POLICY === undefined;
  if (policySet) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  try {
    const require = createRequire(import.meta.url);
    cached = { addon: require(file) as NativeAddon };
  } catch (err) {
    const [message = ''] = (err as Error).message.split('\n');
    // A SIMD path forced with POSTER_STUDIO_SIMD that this CPU cannot run: the addon's own line.
    cached = { reason: message.startsWith(`${SIMD_ENV}=`) ? message : `cannot load ${file}: ${message}` };
  } finally {
    if (policySet) delete process.env.OMP_WAIT_POLICY;
  }
  return cached;
}
