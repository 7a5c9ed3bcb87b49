/**
 * The AMX bf16 matrix product (addon.amxMatmul: fp32 in, bf16 tiles, fp32 sums) against the fp32
 * GEMM of the engine's fastest SIMD path (addon.matmul) on the DCGAN's convolution GEMMs at 64x96,
 * batch 60: per layer the forward product (pixels x taps . taps x channels), the filter gradient
 * (im2col^T dy) and the input gradient (dy W^T), as plain matrices of those shapes (the
 * convolutions' own kernels read the image in place; these rows compare the two GEMMs alone).
 * Every row gives GFLOP/s on the wall clock and per CPU-second, the AMX row its share of the
 * measured amx_bf16 peak, and the ratio of the two in the same run.
 * Run alone: node dist/bench/amx-gemm.js
 */
import { nativeAddon } from '../engine/native/backend.js';
import { dcganConvs, filled, geometry, row, timeIt } from './kernels.js';
import { peakFields, type Peaks } from './peak.js';

export async function benchAmxGemm(opts: { peaks?: Peaks | null } = {}): Promise<Record<string, unknown>[]> {
  const addon = nativeAddon();
  if (!addon) return [{ bench: 'kernel', kernel: 'amx_gemm', error: 'native addon unavailable' }];
  const info = addon.info();
  if (!info.amx) return [{ bench: 'kernel', kernel: 'amx_gemm', error: 'this CPU (or OS) has no usable AMX-BF16' }];
  const rows: Record<string, unknown>[] = [];
  const common = { threads: info.threads };
  for (const v of dcganConvs(96, 64)) {
    const { oh, ow } = geometry(v);
    const P = v.n * oh * ow,
      KK = v.k * v.k * v.c,
      CO = v.co;
    const gemms: [string, number, number, number, boolean, boolean][] = [
      ['forward', P, CO, KK, false, false],
      ['filter gradient', KK, CO, P, true, false],
      ['input gradient', P, KK, CO, false, true],
    ];
    for (const [what, m, n, k, ta, tb] of gemms) {
      const a = filled(m * k, 1),
        b = filled(k * n, 2),
        c = new Float32Array(m * n);
      const shape = `${v.name} ${what}: ${m}x${k} . ${k}x${n}${ta ? ' (A^T)' : ''}${tb ? ' (B^T)' : ''}`;
      const flop = 2 * m * n * k;
      const fp32 = row(
        'gemm_fp32',
        shape,
        flop,
        timeIt(() => addon.matmul(a, b, c, 1, 1, m, n, k, ta, tb, null, 0, 0)),
        common,
      );
      const amx = row(
        'gemm_amx_bf16',
        shape,
        flop,
        timeIt(() => addon.amxMatmul(a, b, c, m, n, k, ta, tb, false)),
        common,
      );
      rows.push({ ...fp32, ...peakFields(info.simd, fp32, opts.peaks ?? null) });
      rows.push({
        ...amx,
        ...peakFields('amx_bf16', amx, opts.peaks ?? null),
        speedup_vs_fp32_cpu: +((amx.gflop_per_cpu_s as number) / (fp32.gflop_per_cpu_s as number)).toFixed(2),
      });
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchAmxGemm()) console.log(JSON.stringify(r));
}
