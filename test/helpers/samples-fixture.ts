/**
 * A fake `dcgan train` output directory for the scoring and report tests: grids of flat-coloured
 * posters with sidecars and a losses.csv, plus a colour-reading scorer standing in for the
 * classifier (red → Action, green → Drama, blue → Comedy), so every number is predictable.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LOSSES_HEADER } from '../../src/artifacts/losses-csv.js';
import { EVAL_VERSION, writeCurve, type Metrics } from '../../src/artifacts/eval-curve.js';
import { writeKidRow } from '../../src/artifacts/kid-log.js';
import { composeGrid, type GridGeometry } from '../../src/core/images/grid.js';
import { encodePng, type RgbImage } from '../../src/core/images/decode.js';
import type { ScoreFn } from '../../src/features/scoring/score.js';

export const FAKE_GENRES = ['Action', 'Drama', 'Comedy'] as const;

export function flatImage(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

/** Mean channel values, normalised so they sum to 1: a deterministic "genre probability". */
export const colourScorer: ScoreFn = async (images) =>
  images.map((img) => {
    const sum = [0, 0, 0];
    for (let i = 0; i < img.data.length; i += 3) for (let c = 0; c < 3; c++) sum[c]! += img.data[i + c]!;
    const total = sum[0]! + sum[1]! + sum[2]! || 1;
    return { Action: sum[0]! / total, Drama: sum[1]! / total, Comedy: sum[2]! / total };
  });

/** Cell i of grid at step k: more red early, more blue late, with a per-cell green marker. */
export function cellColour(i: number, step: number, steps: number): [number, number, number] {
  const t = steps > 1 ? step / (steps - 1) : 0;
  return [Math.round(200 * (1 - t)) + 20, (i * 37) % 200, Math.round(200 * t) + 20];
}

export interface FakeSamples {
  dir: string;
  geometry: GridGeometry;
  iterations: number[];
}

export async function writeFakeSamples(
  dir: string,
  opts: { iterations?: number[]; geometry?: GridGeometry; sidecars?: boolean; losses?: boolean } = {},
): Promise<FakeSamples> {
  const geometry = opts.geometry ?? { rows: 2, cols: 3, cellWidth: 16, cellHeight: 24, gap: 2 };
  const iterations = opts.iterations ?? [100, 200, 300];
  await fs.mkdir(dir, { recursive: true });
  for (const [k, it] of iterations.entries()) {
    const cells = Array.from({ length: geometry.rows * geometry.cols }, (_, i) =>
      flatImage(geometry.cellWidth, geometry.cellHeight, cellColour(i, k, iterations.length)),
    );
    const name = `grid_${String(it).padStart(6, '0')}`;
    await fs.writeFile(path.join(dir, `${name}.png`), await encodePng(composeGrid(cells, geometry, 255)));
    if (opts.sidecars !== false) {
      await fs.writeFile(
        path.join(dir, `${name}.json`),
        JSON.stringify({
          iteration: it,
          epoch: k,
          ...geometry,
          losses: { d: 1.2 - 0.1 * k, g: 0.8 + 0.2 * k },
          seed: 1,
          z_dim: 100,
        }),
      );
    }
  }
  if (opts.losses !== false) {
    const last = iterations[iterations.length - 1] ?? 0;
    const lines = [LOSSES_HEADER];
    for (let it = 1; it <= last; it += Math.max(1, Math.floor(last / 50))) {
      lines.push(
        `${it},${Math.floor(it / 100)},${(1.4 * Math.exp(-it / 200) + 0.3).toFixed(4)},${(0.7 + 0.5 * Math.sin(it / 40) ** 2).toFixed(4)},0.100`,
      );
    }
    await fs.writeFile(path.join(dir, 'losses.csv'), lines.join('\n') + '\n');
  }
  return { dir, geometry, iterations };
}

/**
 * A tiny but real tfjs genre classifier saved the way `classifier train` saves one (model.json,
 * weights.bin, metadata.json), with fixed-seed weights: enough to exercise scoring, features,
 * saliency and the metrics table without training anything.
 */
export async function writeTinyClassifier(
  dir: string,
  genres: readonly string[] = FAKE_GENRES,
  size = { width: 16, height: 24 },
): Promise<string> {
  const { tf } = await import('../../engine/tf.js');
  const { saveLayersModel } = await import('../../src/artifacts/model-io.js');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [size.height, size.width, 3],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({
        units: genres.length,
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    ],
  });
  await saveLayersModel(model, dir);
  await fs.writeFile(
    path.join(dir, 'metadata.json'),
    JSON.stringify({
      name: path.basename(dir),
      genres,
      input: { width: size.width, height: size.height, channels: 3, range: 'unit' },
      thresholds: genres.map(() => 0.5),
      validation: {
        count: 20,
        microAuc: 0.712,
        macroAuc: 0.698,
        mAP: 0.4,
        microF1: 0.45,
        macroF1: 0.45,
        hammingLoss: 0.3,
        top1: 0.5,
        perGenre: Object.fromEntries(
          genres.map((g, i) => [
            g,
            {
              precision: 0.5 + i / 20,
              recall: 0.4 + i / 25,
              f1: 0.45,
              auc: 0.7 + i / 50,
              ap: 0.4,
              threshold: 0.5,
              positives: 5,
            },
          ]),
        ),
      },
    }),
  );
  model.dispose();
  return dir;
}

/** Flat-coloured "real posters" (<id>.jpg) with a lighter top half, so saliency has structure. */
export async function writeFakeRealPosters(
  dir: string,
  count: number,
  size = { width: 32, height: 48 },
): Promise<string[]> {
  const { encodeJpeg } = await import('../../src/core/images/decode.js');
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const img = flatImage(size.width, size.height, [(i * 71) % 256, (i * 29 + 60) % 256, (i * 113 + 30) % 256]);
    for (let p = 0; p < (size.width * size.height) / 2; p++) img.data[p * 3] = 250;
    const f = path.join(dir, `${1000 + i}.jpg`);
    await fs.writeFile(f, await encodeJpeg(img));
    files.push(f);
  }
  return files;
}

/** ffmpeg as the project resolves it for tests: FFMPEG_PATH, then the packaged binary. */
export async function ffmpegPath(): Promise<string> {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  const { createRequire } = await import('node:module');
  return (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

/** A short H.264 MP4 of the grids, as `dcgan render` would make one. */
export async function writeFakeVideo(samplesDir: string, out: string): Promise<void> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  await promisify(execFile)(await ffmpegPath(), [
    '-y',
    '-loglevel',
    'error',
    '-framerate',
    '2',
    '-pattern_type',
    'glob',
    '-i',
    path.join(samplesDir, 'grid_*.png'),
    '-vf',
    'scale=trunc(iw/2)*2:trunc(ih/2)*2',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    out,
  ]);
}

/**
 * Everything a finished run leaves behind, in root: samples/ (grids, sidecars, losses.csv,
 * classify.json, fid.json, optionally train.mp4), models/tiny_v1, real/ posters.
 */
export async function writeFullRun(
  root: string,
  opts: { video?: boolean } = {},
): Promise<{ samples: string; models: string; modelDir: string; real: string }> {
  const { initBackend } = await import('../../engine/backend.js');
  const { openGenreModel } = await import('../../src/artifacts/classifier-model.js');
  const { scanSamples, scoreSamples, writeScores } = await import('../../src/features/scoring/index.js');
  const { computePosterFid } = await import('../../src/features/fid/poster-fid.js');
  await initBackend('cpu', true);
  const samples = path.join(root, 'samples');
  const models = path.join(root, 'models');
  const modelDir = path.join(models, 'tiny_v1');
  const real = path.join(root, 'real');
  await writeFakeSamples(samples, {
    iterations: [100, 200, 300, 400],
    geometry: { rows: 3, cols: 4, cellWidth: 32, cellHeight: 48, gap: 2 },
  });
  await writeTinyClassifier(modelDir, FAKE_GENRES, { width: 32, height: 48 });
  const realFiles = await writeFakeRealPosters(real, 16);
  const model = await openGenreModel(modelDir);
  const scan = await scanSamples([samples]);
  await writeScores(await scoreSamples(scan, (imgs) => model.score(imgs)), samples, modelDir);
  const fid = await computePosterFid({
    features: (imgs) => model.features(imgs),
    realFiles,
    grids: scan.grids,
    noiseCount: 8,
    noiseSize: { width: 32, height: 48 },
    seed: 1,
  });
  await fs.writeFile(
    path.join(samples, 'fid.json'),
    JSON.stringify({ model: modelDir, ...fid, real: { dir: real, ...fid.real } }),
  );
  await writeFakeQuality(samples, { cpuMinutes: true });
  if (opts.video) await writeFakeVideo(samples, path.join(samples, 'train.mp4'));
  return { samples, models, modelDir, real };
}

export const FAKE_FEATURE_NET = 'poster-features-test@0123456789ab';

/**
 * What `dcgan eval --checkpoint samples/` and `dcgan train --eval_every` leave, written by their own
 * writers with hand-picked numbers: eval.json/eval.csv for iterations 100..300 (CPU minutes or
 * null) and kid.csv for iterations 50..300.
 */
export async function writeFakeQuality(dir: string, opts: { cpuMinutes: boolean }): Promise<void> {
  const m = (kid: number, fid: number, precision: number, recall: number): Metrics => ({
    n: 40,
    kid: { mean: kid, std: kid / 10 },
    fid,
    precision,
    recall,
  });
  await writeCurve(dir, {
    version: EVAL_VERSION,
    key: { featureNet: FAKE_FEATURE_NET, real: '/real', realCount: 80, count: 40, seed: 1, bn: 'moving' },
    featureDim: 64,
    realSkipped: 0,
    scale: { reference: 40, heldOut: 40, realVsReal: m(0.001, 2, 0.9, 0.9), noise: m(0.9, 400, 0, 0) },
    rows: [100, 200, 300].map((it, i) => ({
      checkpoint: path.join(dir, 'checkpoints', `ckpt_${String(it).padStart(6, '0')}`),
      iteration: it,
      cpuMinutes: opts.cpuMinutes ? 5 * (i + 1) : null,
      ...m(0.3 - 0.1 * i, 150 - 40 * i, 0.2 + 0.2 * i, 0.1 + 0.1 * i),
    })),
  });
  for (const [it, kid] of [
    [50, 0.5],
    [150, 0.3],
    [300, 0.15],
  ] as const)
    await writeKidRow(dir, it, kid, kid / 5);
}
