/**
 * `--precision`: what the convolutions and matrix products compute in. fp32 by default; bf16
 * rounds their inputs to bf16 (nearest even) and runs them on AMX tiles with fp32 sums
 * (engine/native/amx.cc), the convolutions of 1-4 channel images (the RGB layers) excepted.
 * Weights, optimizer state and batch-norm statistics stay fp32 either way. bf16 runs only on the
 * native backend of a CPU (and OS) with AMX-BF16; elsewhere it is refused in one line (exit 2)
 * rather than quietly run in fp32, so a run said to be bf16 always is.
 */
import { UserError } from '../src/core/errors.js';
import { nativeAddon } from './native/backend.js';

export const PRECISIONS = ['fp32', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

let current: Precision = 'fp32';

/** Sets the precision of the running backend (`backend`: what initBackend returned). */
export function setPrecision(precision: Precision, backend: string): void {
  const addon = backend === 'native' ? nativeAddon() : null;
  if (precision === 'fp32') {
    addon?.setPrecision('fp32');
    current = 'fp32';
    return;
  }
  if (!addon)
    throw new UserError(`--precision bf16 needs the native backend (running: ${backend}); use --precision fp32`);
  if (!addon.info().amx)
    throw new UserError(
      '--precision bf16 needs AMX-BF16 tiles, which this CPU (or OS) lacks (bf16 on AVX-512 would be no faster than fp32); use --precision fp32',
    );
  addon.setPrecision('bf16');
  current = 'bf16';
  process.stderr.write('precision: bf16 products on AMX tiles (fp32 sums; weights, Adam and batch norm in fp32)\n');
}

/**
 * fn with the products in fp32, the precision restored after: what a bf16 run measures of itself
 * (KID during training) is computed as an fp32 run's is, so the two compare.
 */
export async function inFp32<T>(fn: () => Promise<T>): Promise<T> {
  if (current === 'fp32') return fn();
  const addon = nativeAddon()!;
  addon.setPrecision('fp32');
  try {
    return await fn();
  } finally {
    addon.setPrecision('bf16');
  }
}
