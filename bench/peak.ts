/**
 * The machine's own yardstick: the multiply-add peak of every instruction set the CPU has (AVX-512,
 * AVX2/FMA, the portable SSE2 build, AVX-512 BF16 dot products, AMX bf16 tiles), measured by the addon on every
 * core at once and counted per CPU-second of each thread, so a loaded machine slows the
 * measurement, not the figure. Workload and kernel rows give their GFLOP/s as a share of the peak
 * of the set they ran on: peak_share from wall time (what the run got: lowered by other load) and
 * cpu_peak_share from the CPU time their threads used (the code's own efficiency).
 */
import { loadavg } from 'node:os';
import type { NativeAddon } from '../engine/native/addon.js';

export interface Peaks {
  gflop: Map<string, number>;
  cores: number;
}

const WHAT: Record<string, string> = {
  avx512_bf16: 'vdpbf16ps (bf16 pairs, fp32 sums), every core at once',
  amx_bf16: 'AMX tdpbf16ps (16x32 by 32x16 bf16 tiles into 4 fp32 16x16 tiles), every core at once',
};

/** One row per set (bf16 as 'avx512_bf16' and 'amx_bf16'); `seconds` of CPU time per thread each. */
export function measurePeaks(addon: NativeAddon, seconds = 1): { rows: Record<string, unknown>[]; peaks: Peaks } {
  const info = addon.info();
  const sets = [...info.supported, ...(info.bf16 ? ['avx512_bf16'] : []), ...(info.amx ? ['amx_bf16'] : [])];
  const peaks: Peaks = { gflop: new Map(), cores: info.cores };
  const rows = sets.map((simd) => {
    const t0 = performance.now();
    const gflop = addon.peak(simd, seconds);
    peaks.gflop.set(simd, gflop);
    return {
      bench: 'peak',
      simd,
      gflop_per_s: +gflop.toFixed(1),
      gflop_per_s_per_core: +(gflop / info.cores).toFixed(1),
      cores: info.cores,
      what: WHAT[simd] ?? `${simd} vector multiply-adds, every core at once`,
      cpu_s_per_thread: seconds,
      wall_s: +((performance.now() - t0) / 1000).toFixed(2),
      load_avg: +(loadavg()[0] ?? NaN).toFixed(2),
    };
  });
  return { rows, peaks };
}

/** simd, the peak of that set, and the row's GFLOP/s (wall, and per CPU-second) as shares of it. */
export function peakFields(simd: string, row: Record<string, unknown>, peaks: Peaks | null): Record<string, unknown> {
  const peak = peaks?.gflop.get(simd) ?? null;
  const share = (v: unknown, of: number | null): number | null =>
    of && typeof v === 'number' ? +(v / of).toFixed(3) : null;
  return {
    simd,
    peak_gflop_per_s: peak === null ? null : +peak.toFixed(1),
    peak_share: share(row.gflop_per_s, peak),
    cpu_peak_share: share(row.gflop_per_cpu_s, peak === null ? null : peak / peaks!.cores),
  };
}
