/**
 * Achieved GFLOP/s of the native kernels at the shapes of the real workloads (DCGAN batch 60 at
 * 64x64 and 64x96, classifier v1 at 161x106 batch 32). Calls the addon directly, so the figures
 * are the kernels' own, without tfjs bookkeeping. Run alone: node dist/bench/kernels.js
 * The RGB layers (1-4 input channels) run direct kernels (native/impl_smallc.inc); with
 * POSTER_STUDIO_SMALLC=0 they take the general GEMM paths instead, for an A/B in back-to-back runs.
 */
import { loadavg } from 'node:os';
import { nativeAddon } from '../engine/native/backend.js';
import type { NativeAddon } from '../engine/native/addon.js';
import { peakFields, type Peaks } from './peak.js';

export interface Conv {
  name: string;
  n: number;
  h: number;
  w: number;
  c: number;
  k: number;
  co: number;
  stride: number;
  pad: 'same' | 'valid';
}

/** The DCGAN discriminator's convolutions; the generator's transposed convolutions are the same
 *  shapes run backwards (its forward pass is conv2d_backprop_input, its input gradient conv2d_fwd).
 *  Named as the workloads are (width x height: "64x96" is a portrait poster, 96 rows of 64 pixels),
 *  each layer by its input map, rows x columns x channels as NHWC stores it. */
export function dcganConvs(height: number, width: number): Conv[] {
  const out: Conv[] = [];
  let h = height,
    w = width,
    c = 3;
  for (const co of [64, 128, 256, 512]) {
    out.push({
      name: `dcgan${width}x${height} ${h}x${w}x${c}->${co}`,
      n: 60,
      h,
      w,
      c,
      k: 5,
      co,
      stride: 2,
      pad: 'same',
    });
    h = Math.ceil(h / 2);
    w = Math.ceil(w / 2);
    c = co;
  }
  return out;
}

const CLASSIFIER: Conv[] = [
  { name: 'classifier conv1 161x106x3->32 same', n: 32, h: 161, w: 106, c: 3, k: 3, co: 32, stride: 1, pad: 'same' },
  {
    name: 'classifier conv2 161x106x32->32 valid',
    n: 32,
    h: 161,
    w: 106,
    c: 32,
    k: 3,
    co: 32,
    stride: 1,
    pad: 'valid',
  },
  { name: 'classifier conv3 79x52x32->64 same', n: 32, h: 79, w: 52, c: 32, k: 3, co: 64, stride: 1, pad: 'same' },
  { name: 'classifier conv4 79x52x64->64 valid', n: 32, h: 79, w: 52, c: 64, k: 3, co: 64, stride: 1, pad: 'valid' },
];

export function geometry(v: Conv): { geom: Int32Array; oh: number; ow: number } {
  const oh = v.pad === 'same' ? Math.ceil(v.h / v.stride) : Math.ceil((v.h - v.k + 1) / v.stride);
  const ow = v.pad === 'same' ? Math.ceil(v.w / v.stride) : Math.ceil((v.w - v.k + 1) / v.stride);
  // tfjs 'same': total padding max((out-1)*stride + k - in, 0), the smaller half on top/left.
  const pt = v.pad === 'same' ? Math.floor(Math.max((oh - 1) * v.stride + v.k - v.h, 0) / 2) : 0;
  const pl = v.pad === 'same' ? Math.floor(Math.max((ow - 1) * v.stride + v.k - v.w, 0) / 2) : 0;
  return {
    geom: Int32Array.from([v.n, v.h, v.w, v.c, v.k, v.k, v.co, oh, ow, v.stride, v.stride, pt, pl, 1, 1]),
    oh,
    ow,
  };
}

export function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

export interface Timing {
  wall: number;
  cpu: number;
}

/** Median wall and CPU seconds (all threads) of repeated runs (at least 3, ~0.3 s) after a warm-up.
 *  CPU time tells the kernel's own efficiency when other processes share the cores. */
export function timeIt(fn: () => void): Timing {
  fn();
  const wall: number[] = [],
    cpu: number[] = [];
  const start = performance.now();
  while (wall.length < 3 || (performance.now() - start < 300 && wall.length < 25)) {
    const c = process.cpuUsage();
    const t = performance.now();
    fn();
    wall.push((performance.now() - t) / 1000);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1e6);
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? NaN;
  return { wall: median(wall), cpu: median(cpu) };
}

export function row(
  kernel: string,
  shape: string,
  flop: number,
  t: Timing,
  common: Record<string, unknown>,
): Record<string, unknown> {
  return {
    bench: 'kernel',
    kernel,
    shape,
    backend: 'native',
    gflop_per_s: +(flop / t.wall / 1e9).toFixed(1),
    gflop_per_cpu_s: +(flop / t.cpu / 1e9).toFixed(1),
    ms: +(t.wall * 1000).toFixed(2),
    load_avg: +(loadavg()[0] ?? NaN).toFixed(2),
    ...common,
  };
}

function convRows(addon: NativeAddon, v: Conv, common: Record<string, unknown>): Record<string, unknown>[] {
  const { geom, oh, ow } = geometry(v);
  const x = filled(v.n * v.h * v.w * v.c, 1);
  const f = filled(v.k * v.k * v.c * v.co, 2);
  const y = new Float32Array(v.n * oh * ow * v.co);
  const dy = filled(y.length, 3);
  const dx = new Float32Array(x.length);
  const df = new Float32Array(f.length);
  const flop = 2 * v.n * oh * ow * v.co * v.k * v.k * v.c;
  const shape = `${v.name} k${v.k} s${v.stride} ${v.pad} batch ${v.n}`;
  const rows: Record<string, unknown>[] = [];
  const add = (kernel: string, t: Timing): void => {
    rows.push(row(kernel, shape, flop, t, common));
  };
  add(
    'conv2d_fwd',
    timeIt(() => addon.conv2d(x, f, y, geom, null, 0, 0)),
  );
  add(
    'conv2d_backprop_filter',
    timeIt(() => addon.conv2dBackpropFilter(x, dy, df, geom)),
  );
  // The first layer of a network needs no input gradient, but the generator's last layer runs it forward.
  add(
    'conv2d_backprop_input',
    timeIt(() => addon.conv2dBackpropInput(dy, f, dx, geom)),
  );
  return rows;
}

function matmulRows(addon: NativeAddon, common: Record<string, unknown>): Record<string, unknown>[] {
  // Dense 60800 -> 512 of the classifier: forward, weight gradient (x^T dy), input gradient (dy W^T).
  const cases: [string, number, number, number, boolean, boolean][] = [
    ['dense 32x60800 . 60800x512 (forward)', 32, 512, 60800, false, false],
    ['dense 60800x32 . 32x512 (weight grad, x^T dy)', 60800, 512, 32, true, false],
    ['dense 32x512 . 512x60800 (input grad, dy W^T)', 32, 60800, 512, false, true],
    ['dcgan linear 60x100 . 100x8192 (generator input)', 60, 8192, 100, false, false],
    ['square 1024x1024x1024', 1024, 1024, 1024, false, false],
  ];
  return cases.map(([shape, m, n, k, ta, tb]) => {
    const a = filled(m * k, 4),
      b = filled(k * n, 5),
      c = new Float32Array(m * n);
    return row(
      'matmul',
      shape,
      2 * m * n * k,
      timeIt(() => addon.matmul(a, b, c, 1, 1, m, n, k, ta, tb, null, 0, 0)),
      common,
    );
  });
}

/**
 * One JSON-able row per kernel, shape and SIMD path (`simd`: the paths to measure, each shape on
 * every path back to back, an A/B under the same load; default the chosen one), with its share of
 * that path's measured peak when `peaks` is given; `threads` lists the thread counts to measure.
 */
export async function benchKernels(
  opts: { threads?: number[]; simd?: string[]; peaks?: Peaks | null } = {},
): Promise<Record<string, unknown>[]> {
  const addon = nativeAddon();
  if (!addon) return [{ bench: 'kernel', backend: 'native', error: 'native addon unavailable' }];
  const configured = addon.info().threads,
    chosen = addon.info().simd;
  const paths = opts.simd?.length ? opts.simd : [chosen];
  const rows: Record<string, unknown>[] = [];
  const onEach = (measure: (common: Record<string, unknown>) => Record<string, unknown>[], t: number): void => {
    for (const simd of paths) {
      addon.setSimd(simd);
      for (const r of measure({ threads: t })) rows.push({ ...r, ...peakFields(simd, r, opts.peaks ?? null) });
    }
  };
  try {
    for (const t of opts.threads ?? [configured]) {
      addon.setThreads(t);
      for (const v of [...dcganConvs(64, 64), ...dcganConvs(96, 64), ...CLASSIFIER])
        onEach((common) => convRows(addon, v, common), t);
      onEach((common) => matmulRows(addon, common), t);
    }
  } finally {
    addon.setThreads(configured);
    addon.setSimd(chosen);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const threads = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  for (const row of await benchKernels(threads.length ? { threads } : {})) console.log(JSON.stringify(row));
}
