/**
 * DCGAN training throughput with the studio's own model code (dcgan/): the carpedm20
 * architecture as ../shared/bench/torch_dcgan.py builds it (z=100, gf=df=64, 5x5 stride 2, BN,
 * ReLU/tanh G, LeakyReLU(0.2) D, Adam(2e-4, 0.5)); one iteration = 1 D update (real + fake) +
 * 2 G updates with the same z.
 */
import { tf } from '../../engine/index.js';
import { DEFAULT_MODEL, DEFAULT_TRAIN, type ModelConfig } from '../../dcgan/config.js';
import { createState, disposeState } from '../../dcgan/state.js';
import { trainIteration } from '../../dcgan/step.js';
import { round, timeSteps, uniform } from './common.js';

export interface DcganBenchOptions {
  height: number;
  width: number;
  batch: number;
  iters: number;
  warmup: number;
  gUpdates?: number;
}

/** FLOPs per image of one iteration, counted as torch_dcgan.py counts them (conv/linear MACs x 2). */
export function dcganFlopsPerImage(height: number, width: number, gUpdates = 2, z = 100, gf = 64, df = 64): number {
  const h16 = height / 16,
    w16 = width / 16;
  const g: number[] = [z * gf * 8 * h16 * w16];
  let c = gf * 8,
    h = h16,
    w = w16;
  for (const co of [gf * 4, gf * 2, gf, 3]) {
    g.push(c * h * w * co * 25);
    c = co;
    h *= 2;
    w *= 2;
  }
  const d: number[] = [];
  c = 3;
  h = height;
  w = width;
  for (const co of [df, df * 2, df * 4, df * 8]) {
    h /= 2;
    w /= 2;
    d.push(co * h * w * c * 25);
    c = co;
  }
  d.push(df * 8 * h16 * w16);
  const G = g.reduce((a, b) => a + b),
    D = d.reduce((a, b) => a + b);
  const dStep = G + 2 * D + 2 * D + 2 * (D - d[0]!);
  const gStep = G + D + D + G + (G - g[0]!);
  return 2 * (dStep + gUpdates * gStep);
}

/** A ready-to-run training iteration on synthetic data (the step the benchmark and the profiler time). */
export function createDcganStep(
  height: number,
  width: number,
  batch: number,
  gUpdates = 2,
): { step: () => { d: number; g: number }; dispose: () => void } {
  const config: ModelConfig = { ...DEFAULT_MODEL, width, height };
  const B = batch;
  const state = createState(
    config,
    1,
    { ...DEFAULT_TRAIN, nbrGUpdates: gUpdates, rows: 1, cols: B },
    new Float32Array(B * config.zDim),
    null,
    0,
  );
  const real = tf.tensor4d(uniform(B * height * width * 3, 7), [B, height, width, 3]);
  let it = 0;
  return {
    step: () => {
      // A fresh z each iteration, uniform(-1, 1) as carpedm20 draws it.
      const z = tf.tensor2d(uniform(B * 100, 100 + it++), [B, 100]);
      const losses = trainIteration(state, real, z, null);
      z.dispose();
      return losses;
    },
    dispose: () => {
      real.dispose();
      disposeState(state);
    },
  };
}

export async function benchDcgan(o: DcganBenchOptions): Promise<Record<string, unknown>> {
  const gUpdates = o.gUpdates ?? 2;
  const B = o.batch;
  const run = createDcganStep(o.height, o.width, B, gUpdates);
  let losses = { d: NaN, g: NaN };
  const t = await timeSteps(
    () => {
      losses = run.step();
    },
    o.warmup,
    o.iters,
  );
  run.dispose();
  const flops = dcganFlopsPerImage(o.height, o.width, gUpdates);
  return {
    bench: `dcgan_train_${o.width}x${o.height}`,
    height: o.height,
    width: o.width,
    batch: B,
    g_updates: gUpdates,
    images_per_s: round(B / t.s_per_step),
    s_per_step: round(t.s_per_step, 4),
    iters: o.iters,
    warmup: o.warmup,
    flops_per_image: flops,
    gflop_per_s: round((flops * B) / t.s_per_step / 1e9, 2),
    gflop_per_cpu_s: round((flops * B) / t.cpu_s_per_step / 1e9, 2),
    last_losses: [round(losses.d, 4), round(losses.g, 4)],
  };
}
