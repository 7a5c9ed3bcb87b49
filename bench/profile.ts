/**
 * Where a training step's time goes, per kernel: runs one warm-up step, then one step under
 * tf.profile, and prints time per kernel name (and the costliest kernel+shape pairs).
 *   node dist/bench/profile.js --workload dcgan|dcgan96|classifier|classifier_infer --backend native [--precision bf16] [--json]
 * The times are the backend's own kernel timings (wall clock per kernel on cpu-style backends);
 * the rest of the step (tape bookkeeping, JS glue, GC) shows as "outside kernels".
 */
import { initBackend, PRECISIONS, setPrecision, tf, type Precision } from '../engine/index.js';

const WORKLOADS = ['dcgan', 'dcgan96', 'classifier', 'classifier_infer'] as const;
type Workload = (typeof WORKLOADS)[number];

function arg(name: string): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return argv[i]!.includes('=') ? argv[i]!.slice(argv[i]!.indexOf('=') + 1) : argv[i + 1];
}

async function prepare(w: Workload): Promise<{ run: () => Promise<unknown>; dispose: () => void; label: string }> {
  if (w === 'dcgan' || w === 'dcgan96') {
    const { createDcganStep } = await import('./workloads/dcgan.js');
    const h = w === 'dcgan' ? 64 : 96;
    const s = createDcganStep(h, 64, 60);
    return {
      run: async () => s.step(),
      dispose: s.dispose,
      label: `DCGAN iteration (1 D + 2 G updates), batch 60, 64x${h}`,
    };
  }
  const { createClassifierStep } = await import('./workloads/classifier.js');
  const s = createClassifierStep(161, 106, 32, 7);
  return w === 'classifier'
    ? { run: s.train, dispose: s.dispose, label: 'classifier v1 training step, batch 32, 161x106' }
    : { run: async () => s.infer(), dispose: s.dispose, label: 'classifier v1 inference, batch 32, 161x106' };
}

interface Row {
  kernel: string;
  ms: number;
  calls: number;
}

async function main(): Promise<void> {
  const workload = (arg('workload') ?? 'dcgan') as Workload;
  if (!(WORKLOADS as readonly string[]).includes(workload)) {
    process.stderr.write(`error: --workload takes one of ${WORKLOADS.join(', ')}, got '${workload}'\n`);
    process.exit(2);
  }
  const precision = (arg('precision') ?? 'fp32') as Precision;
  if (!PRECISIONS.includes(precision)) {
    process.stderr.write(`error: --precision takes one of ${PRECISIONS.join(', ')}, got '${precision}'\n`);
    process.exit(2);
  }
  const backend = await initBackend(arg('backend'));
  setPrecision(precision, backend);
  const w = await prepare(workload);
  await w.run(); // warm-up: first-call allocations and kernel setup stay out of the profile
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await w.run();
    return [];
  });
  const wall = performance.now() - t0;
  w.dispose();

  const byName = new Map<string, Row>();
  const byShape = new Map<string, Row>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const add = (m: Map<string, Row>, key: string): void => {
      const r = m.get(key) ?? { kernel: key, ms: 0, calls: 0 };
      r.ms += ms;
      r.calls++;
      m.set(key, r);
    };
    add(byName, k.name);
    add(byShape, `${k.name} ${JSON.stringify(k.inputShapes)}`);
  }
  const total = [...byName.values()].reduce((a, r) => a + r.ms, 0);
  const sorted = [...byName.values()].sort((a, b) => b.ms - a.ms);
  const top = [...byShape.values()].sort((a, b) => b.ms - a.ms).slice(0, 15);
  if (process.argv.includes('--json')) {
    console.log(
      JSON.stringify({
        bench: 'profile',
        workload,
        backend,
        wall_ms: +wall.toFixed(1),
        kernel_ms: +total.toFixed(1),
        kernels: sorted.map((r) => ({ ...r, ms: +r.ms.toFixed(2) })),
        top_shapes: top.map((r) => ({ ...r, ms: +r.ms.toFixed(2) })),
      }),
    );
    return;
  }
  const pct = (v: number): string => `${((100 * v) / wall).toFixed(1)}%`.padStart(6);
  console.log(
    `${w.label} on ${backend}: ${(wall / 1000).toFixed(2)} s wall (profiled; profiling adds some overhead), ${(total / 1000).toFixed(2)} s in kernels`,
  );
  console.log(`${'kernel'.padEnd(28)} ${'ms'.padStart(9)} ${'share'.padStart(6)} calls`);
  for (const r of sorted) {
    if (r.ms < 0.005 * wall && r !== sorted[0]) continue;
    console.log(`${r.kernel.padEnd(28)} ${r.ms.toFixed(1).padStart(9)} ${pct(r.ms)} ${r.calls}`);
  }
  const small = sorted.filter((r) => r.ms < 0.005 * wall);
  if (small.length)
    console.log(
      `${`(${small.length} others < 0.5%)`.padEnd(28)} ${small
        .reduce((a, r) => a + r.ms, 0)
        .toFixed(1)
        .padStart(9)}`,
    );
  console.log(`${'outside kernels'.padEnd(28)} ${(wall - total).toFixed(1).padStart(9)} ${pct(wall - total)}`);
  console.log('\ncostliest kernel + input shapes:');
  for (const r of top) console.log(`${r.ms.toFixed(1).padStart(9)} ms ${pct(r.ms)} x${r.calls}  ${r.kernel}`);
}

await main();
