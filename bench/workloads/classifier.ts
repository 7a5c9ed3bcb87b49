/**
 * Classifier v1 throughput with the studio's own model (classifier/models.ts): 161x106 input
 * (ratio 60), the seed's padding (same, valid, same, valid), 7 sigmoid outputs, binary
 * cross-entropy, RMSprop(1e-4, rho 0.9, eps 1e-7), batch 32, as ../shared/bench/torch_classifier.py.
 */
import { tf, fusedRmsprop } from '../../engine/index.js';
import { buildClassifier } from '../../classifier/models.js';
import { round, timeSteps, uniform } from './common.js';

export interface ClassifierBenchOptions {
  height: number;
  width: number;
  batch: number;
  genres: number;
  iters: number;
  warmup: number;
}

/** FLOPs per image (training, inference), counted as torch_classifier.py counts them. */
export function classifierFlops(height: number, width: number, genres: number): { train: number; infer: number } {
  const layers: number[] = [];
  let h = height,
    w = width,
    c = 3;
  for (const co of [32, 64]) {
    layers.push(h * w * co * c * 9); // 'same'
    layers.push((h - 2) * (w - 2) * co * co * 9); // 'valid'
    h = Math.floor((h - 2) / 2);
    w = Math.floor((w - 2) / 2);
    c = co;
  }
  layers.push(h * w * c * 512, 512 * genres);
  const fwd = layers.reduce((a, b) => a + b);
  return { train: 2 * (fwd + fwd + (fwd - layers[0]!)), infer: 2 * fwd };
}

/** The model, optimiser and a synthetic batch: train() is one step, infer() one batch's scores. */
export function createClassifierStep(
  height: number,
  width: number,
  batch: number,
  genres: number,
): {
  train: () => Promise<number>;
  infer: () => number;
  dispose: () => void;
} {
  const model = buildClassifier({ version: 1, width, height, outputs: genres, seed: 1 });
  model.compile({ optimizer: fusedRmsprop(1e-4, 0.9, 0, 1e-7), loss: 'binaryCrossentropy' });
  const B = batch;
  const x = tf.tensor4d(
    uniform(B * height * width * 3, 3).map((v) => (v + 1) / 2),
    [B, height, width, 3],
  );
  const y = tf.tensor2d(
    uniform(B * genres, 4).map((v) => (v < -0.4 ? 1 : 0)),
    [B, genres],
  );
  return {
    train: async () => (await model.trainOnBatch(x, y)) as number,
    infer: () => {
      const p = model.predict(x, { batchSize: B }) as tf.Tensor;
      const mean = p.mean().dataSync()[0]!;
      p.dispose();
      return mean;
    },
    dispose: () => {
      tf.dispose([x, y]);
      model.dispose();
    },
  };
}

export async function benchClassifier(o: ClassifierBenchOptions): Promise<Record<string, unknown>[]> {
  const B = o.batch;
  const run = createClassifierStep(o.height, o.width, B, o.genres);
  let loss = NaN;
  const train = await timeSteps(
    async () => {
      loss = await run.train();
    },
    o.warmup,
    o.iters,
  );
  let mean = NaN;
  const infer = await timeSteps(
    () => {
      mean = run.infer();
    },
    o.warmup,
    o.iters,
  );
  run.dispose();
  const f = classifierFlops(o.height, o.width, o.genres);
  const common = {
    height: o.height,
    width: o.width,
    batch: B,
    genres: o.genres,
    padding: 'seed',
    iters: o.iters,
    warmup: o.warmup,
  };
  return [
    {
      bench: 'classifier_train',
      ...common,
      images_per_s: round(B / train.s_per_step),
      s_per_step: round(train.s_per_step, 4),
      flops_per_image: f.train,
      gflop_per_s: round((f.train * B) / train.s_per_step / 1e9, 2),
      gflop_per_cpu_s: round((f.train * B) / train.cpu_s_per_step / 1e9, 2),
      last_loss: round(loss, 4),
    },
    {
      bench: 'classifier_infer',
      ...common,
      images_per_s: round(B / infer.s_per_step),
      s_per_step: round(infer.s_per_step, 4),
      flops_per_image: f.infer,
      gflop_per_s: round((f.infer * B) / infer.s_per_step / 1e9, 2),
      gflop_per_cpu_s: round((f.infer * B) / infer.cpu_s_per_step / 1e9, 2),
      out_mean: round(mean, 4),
    },
  ];
}
