/**
 * `npm run bench`: images/s of the DCGAN (64x64 and 64x96, batch 60) and classifier v1
 * (161x106, batch 32, train and inference) on the chosen backend, with PyTorch run in the
 * same run for the ratio, then per-kernel GFLOP/s rows. On the native backend the first rows are
 * the measured multiply-add peaks of each instruction set (bench/peak.ts), and every row names its
 * SIMD path and its share of that path's peak. JSON lines on stdout; notes on stderr.
 * `npm run bench -- --help` lists the flags; each also reads an environment variable.
 */
import os from 'node:os';
import { addFlags, defineFlags, readFlags } from '../src/core/flags.js';
import { createProgram, runProgram } from '../cli/program.js';
import { backendFlags } from '../cli/backend-flag.js';
import { initBackend, PRECISIONS, setPrecision, tf, type Precision } from '../engine/index.js';
import { runMain, UserError } from '../src/core/errors.js';
import type { NativeAddon } from '../engine/native/addon.js';
import { measurePeaks, peakFields, type Peaks } from './peak.js';
import { runTorch, type TorchResult } from './torch.js';

const PARTS = ['dcgan', 'classifier', 'kernels', 'amx', 'ops', 'prepare'] as const;
type Part = (typeof PARTS)[number];

const benchFlags = defineFlags({
  only: {
    kind: 'list',
    choices: PARTS,
    default: (process.env.BENCH_ONLY ?? PARTS.join(',')).split(','),
    arg: 'parts',
    help: 'what to measure (env BENCH_ONLY)',
  },
  iters: {
    kind: 'int',
    min: 1,
    // 4, not fewer: with 2, one slow or fast PyTorch iteration moved a ratio by 10-20%.
    default: Number(process.env.BENCH_ITERS) || 4,
    help: 'timed iterations per workload, after 1 warm-up (env BENCH_ITERS)',
  },
  simd: {
    kind: 'list',
    choices: ['avx512', 'avx2', 'portable'],
    default: (process.env.BENCH_SIMD ?? '').split(',').filter(Boolean),
    arg: 'paths',
    help: 'native SIMD paths to run each workload and kernel on, one after the other in this run (A/B); default: the one the engine chose (env BENCH_SIMD)',
  },
  precision: {
    kind: 'list',
    choices: PRECISIONS,
    default: (process.env.BENCH_PRECISION ?? 'fp32').split(','),
    arg: 'list',
    help: 'precisions to run the DCGAN workloads in, one after the other in this run (A/B); bf16 needs AMX (env BENCH_PRECISION)',
  },
  torch: {
    kind: 'bool',
    default: process.env.BENCH_NO_TORCH !== '1',
    help: 'run the PyTorch reference (../shared/bench) in the same run for the ratio; --no-torch = false (env BENCH_NO_TORCH=1)',
  },
  ...backendFlags,
});

interface Options {
  only: Set<Part>;
  iters: number;
  backend: string;
  torch: boolean;
  threads: number;
  simd: string[];
  precision: Precision[];
}

async function parseArgs(argv: string[]): Promise<Options | null> {
  const program = createProgram(
    'bench',
    'Training and inference throughput against PyTorch, and per-kernel GFLOP/s (JSON lines)',
  );
  let parsed: Options | null = null;
  addFlags(program, benchFlags).action(() => {
    const o = readFlags(program, benchFlags);
    // Threads PyTorch gets: what our engine uses (POSTER_STUDIO_THREADS or every core).
    const threads = Number(process.env.POSTER_STUDIO_THREADS) || os.availableParallelism();
    parsed = {
      only: new Set(o.only as Part[]),
      iters: o.iters,
      backend: o.backend,
      torch: o.torch,
      threads,
      simd: o.simd as string[],
      precision: o.precision as Precision[],
    };
  });
  // The old spelling, kept: --no-torch.
  const args = argv.map((a) => (a === '--no-torch' ? '--torch=false' : a));
  await runProgram(program, [process.argv[0]!, 'bench', ...args]);
  return parsed;
}

const emit = (row: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(row)}\n`);
const note = (s: string): void => void process.stderr.write(`${s}\n`);

function withTorch(
  ours: Record<string, unknown>,
  torch: TorchResult | null,
  key: string,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const t = torch && torch.ok ? (torch.row[key] as number) : null;
  const ratio = t ? +((ours.images_per_s as number) / t).toFixed(3) : null;
  const { bench, backend, images_per_s, ...rest } = ours;
  return {
    bench,
    backend,
    images_per_s,
    torch_images_per_s: t,
    ratio,
    ...rest,
    ...extra,
    ...(torch && torch.ok
      ? { torch_gflop_per_s: torch.row[key.replace('images_per_s', 'gflop_per_s')] ?? null, torch_blas: torch.row.blas }
      : {}),
    ...(torch && !torch.ok ? { torch_note: torch.reason } : {}),
    ...(torch && torch.ok && torch.warning ? { torch_note: torch.warning } : {}),
  };
}

/** The addon when the native backend runs (peaks, SIMD paths), else null. */
async function nativeOf(backend: string): Promise<NativeAddon | null> {
  if (backend !== 'native') return null;
  const { nativeAddon } = await import('../engine/native/backend.js');
  return nativeAddon();
}

async function main(): Promise<void> {
  const o = await parseArgs(process.argv.slice(2));
  if (!o) return; // --help, or a bad flag (already reported, exit code set)
  const backend = await initBackend(o.backend);
  const addon = await nativeOf(backend);
  // Threads our backend computes with: the addon's setting for native, one for wasm in Node and for cpu.
  const threads = addon ? addon.info().threads : backend === 'tensorflow' ? o.threads : 1;
  const chosen = addon?.info().simd ?? null;
  const paths = addon ? (o.simd.length ? o.simd : [chosen!]) : [backend];
  if (addon) {
    const lacking = paths.filter((p) => !addon.info().supported.includes(p));
    if (lacking.length)
      throw new UserError(
        `--simd: this CPU cannot run ${lacking.join(', ')} (it runs ${addon.info().supported.join(', ')})`,
      );
  } else if (o.simd.length) {
    throw new UserError(`--simd needs the native backend (running: ${backend})`);
  }
  // Refused before anything is measured, as dcgan train refuses it (engine/precision.ts).
  if (o.precision.includes('bf16') && !addon?.info().amx)
    throw new UserError(
      `--precision bf16 needs the native backend on a CPU with AMX-BF16 (running: ${backend}${addon ? ', no AMX' : ''})`,
    );
  const load1 = (): number => +(os.loadavg()[0] ?? NaN).toFixed(2);
  const loadStart = load1();
  // The machine is shared: the 1-minute load average at the start of the run and after each row says how quiet it was.
  const common = (): Record<string, unknown> => ({
    code: 'product',
    threads,
    torch_threads: o.torch ? o.threads : null,
    load_avg_start: loadStart,
    load_avg_end: load1(),
    machine: 'shared',
  });
  note(
    `bench: ${[...o.only].join(', ')} on ${backend}${addon ? ` (${paths.join(' vs ')})` : ''}, ${threads} thread${threads === 1 ? '' : 's'}; PyTorch ${o.torch ? `in the same run, ${o.threads} threads` : 'skipped'}`,
  );

  // First the yardstick: every instruction set's multiply-add peak, all cores at once.
  let peaks: Peaks | null = null;
  if (addon) {
    note("peak: each instruction set's multiply-adds on every core, 1 CPU-second per core each...");
    const measured = measurePeaks(addon);
    peaks = measured.peaks;
    for (const row of measured.rows) emit(row);
    if (!addon.info().amx) note('peak: amx_bf16 not measured: this CPU (or OS) has no usable AMX-BF16');
  }
  /** Runs fn once per SIMD path (the addon switched to it), back to the chosen path after. */
  const perPath = async (fn: (simd: string) => Promise<void>): Promise<void> => {
    try {
      for (const simd of paths) {
        addon?.setSimd(simd);
        await fn(simd);
      }
    } finally {
      if (addon && chosen) addon.setSimd(chosen);
    }
  };
  const simdOf = (ours: Record<string, unknown>, simd: string): Record<string, unknown> =>
    peakFields(simd, ours, peaks);

  if (o.only.has('dcgan')) {
    const { benchDcgan } = await import('./workloads/dcgan.js');
    const iters = o.iters;
    for (const [h, w] of [
      [64, 64],
      [96, 64],
    ] as const) {
      const torch = o.torch
        ? runTorch('torch_dcgan.py', [
            '--batch',
            60,
            '--iters',
            iters,
            '--warmup',
            1,
            '--height',
            h,
            '--width',
            w,
            '--threads',
            o.threads,
          ])
        : null;
      await perPath(async (simd) => {
        for (const precision of o.precision) {
          setPrecision(precision, backend);
          try {
            note(`dcgan ${w}x${h} (${simd}, ${precision}): ${iters} timed iterations after 1 warm-up...`);
            const ours = await benchDcgan({ height: h, width: w, batch: 60, iters, warmup: 1 });
            emit(
              withTorch({ ...ours, backend }, torch, 'images_per_s', {
                // bf16 rows: the share is of the AMX peak.
                ...simdOf(ours, precision === 'bf16' ? 'amx_bf16' : simd),
                precision,
                ...common(),
                torch_s_per_step: torch?.ok ? torch.row.s_per_iter : null,
              }),
            );
          } finally {
            setPrecision('fp32', backend);
          }
        }
      });
    }
  }
  if (o.only.has('classifier')) {
    const { benchClassifier } = await import('./workloads/classifier.js');
    const iters = o.iters;
    const torch = o.torch
      ? runTorch('torch_classifier.py', [
          '--batch',
          32,
          '--iters',
          iters,
          '--warmup',
          1,
          '--height',
          161,
          '--width',
          106,
          '--padding',
          'seed',
          '--threads',
          o.threads,
        ])
      : null;
    await perPath(async (simd) => {
      note(`classifier v1 161x106 (${simd}): ${iters} timed steps after 1 warm-up...`);
      const [train, infer] = await benchClassifier({ height: 161, width: 106, batch: 32, genres: 7, iters, warmup: 1 });
      emit(
        withTorch({ ...train!, backend }, torch, 'train_images_per_s', {
          ...simdOf(train!, simd),
          ...common(),
          torch_s_per_step: torch?.ok ? torch.row.train_s_per_step : null,
        }),
      );
      emit(
        withTorch({ ...infer!, backend }, torch, 'infer_images_per_s', {
          ...simdOf(infer!, simd),
          ...common(),
          torch_s_per_step: torch?.ok ? torch.row.infer_s_per_batch : null,
        }),
      );
    });
  }
  for (const [part, file, fn] of [
    ['kernels', './kernels.js', 'benchKernels'],
    ['amx', './amx-gemm.js', 'benchAmxGemm'],
    ['ops', './ops.js', 'benchOps'],
    ['prepare', './prepare-dcgan.js', 'benchPrepareDcgan'],
  ] as const) {
    if (!o.only.has(part)) continue;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(file)) as Record<string, unknown>;
    } catch (err) {
      note(`${part}: skipped (${file} not loadable: ${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    if (typeof mod[fn] !== 'function') {
      note(`${part}: skipped (${file} has no ${fn}())`);
      continue;
    }
    note(`${part}: ${fn}()...`);
    const opts = { simd: paths, peaks };
    for (const row of await (mod[fn] as (o: typeof opts) => Promise<Record<string, unknown>[]>)(opts)) emit(row);
  }
  tf.disposeVariables();
}

await runMain(main);
