/**
 * `dcgan train`, and `dcgan [flags]` as the fork's main.py: --train trains, otherwise test mode
 * from the newest checkpoint.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, readFlags } from '../../src/core/flags.js';
import { withLocks } from '../../src/core/fs/lock.js';
import { DEFAULT_DATA_DIR, DEFAULT_DCGAN_DATA } from '../../src/core/paths.js';
import { initBackend, inFp32, setPrecision, type Precision } from '../../engine/index.js';
import { kidScorer } from '../../dcgan/eval.js';
import { openFeatureNet } from '../../src/features/fid/feature-net.js';
import { sourceImageSize } from '../../dcgan/data.js';
import { train } from '../../dcgan/train.js';
import { renderTrainingVideo } from '../../dcgan/video.js';
import { testMode } from '../../dcgan/visualize.js';
import {
  forkFlags,
  fromCli,
  modelFromFlags,
  recipeFromFlags,
  resolution,
  trainFlags,
  trainFromFlags,
  type TrainValues,
} from './dcgan-train-flags.js';

/** --dataset NAME as the fork reads it: data/NAME, else NAME itself. */
function datasetDir(name: string): string {
  const candidates = [path.join(DEFAULT_DATA_DIR, name), name];
  // The seed's prepare script wrote dcgan_movies_posters; prepare-dcgan writes data/dcgan.
  if (name === 'dcgan_movies_posters') candidates.push(DEFAULT_DCGAN_DATA);
  const found = candidates.find((c) => existsSync(c) && statSync(c).isDirectory());
  if (!found)
    throw new UserError(
      `--dataset: neither ${candidates.join(' nor ')} is a directory; run prepare-dcgan (it writes ${DEFAULT_DCGAN_DATA}) or pass a folder of images`,
    );
  return found;
}

/** KID during training in fp32 whatever the run trains in (--precision), so bf16 and fp32 runs' kid.csv compare. */
const fp32Kid =
  <S, R>(score: (s: S) => Promise<R>) =>
  (s: S): Promise<R> =>
    inFp32(() => score(s));

/**
 * The output size: the flags when both are given; else the images' own size (the fork's
 * default), or their aspect ratio for the side not given: never a silent stretch.
 */
function outputSize(o: TrainValues, img: { width: number; height: number }): { width: number; height: number } {
  if (o.output_width !== undefined && o.output_height !== undefined)
    return { width: o.output_width, height: o.output_height };
  const base = o.crop ? { width: o.input_width ?? img.width, height: o.input_height ?? img.height } : img;
  const clamp = (v: number): number => Math.min(1024, Math.max(8, Math.round(v)));
  if (o.output_width !== undefined)
    return { width: o.output_width, height: clamp((o.output_width * base.height) / base.width) };
  if (o.output_height !== undefined)
    return { width: clamp((o.output_height * base.width) / base.height), height: o.output_height };
  return { width: clamp(base.width), height: clamp(base.height) };
}

async function runTrainCommand(cmd: Command, o: TrainValues): Promise<void> {
  const res = resolution(o.render_res);
  if (o.resume && o.fresh) throw new UserError('--resume and --fresh exclude each other');
  const input = o.dataset !== undefined ? datasetDir(o.dataset) : o.input;
  if (!existsSync(input) || !statSync(input).isDirectory()) {
    throw new UserError(
      `--input: ${input} is not a directory; run prepare-dcgan first (e.g. prepare-dcgan --min_year=1980 --exclude_genres=Animation,Comedy --output ${input}) or pass a folder of images`,
    );
  }
  const output = o.sample_dir || o.output;
  const pattern = o.input_fname_pattern || undefined;
  if (!o.crop && (o.input_width !== undefined || o.input_height !== undefined))
    throw new UserError('--input_width/--input_height set the --crop size; add --crop');
  const img = await sourceImageSize(input, pattern);
  const size = outputSize(o, img);
  const seen = o.crop
    ? {
        width: Math.min(o.input_width ?? img.width, img.width),
        height: Math.min(o.input_height ?? img.height, img.height),
      }
    : img;
  // Within 5% is rounding (109x161 posters at 64x96 differ by 1.5%); beyond it the shape visibly changes.
  if (Math.abs(size.width / size.height - seen.width / seen.height) > 0.05 * (seen.width / seen.height) && !o.resume) {
    process.stderr.write(
      `note: the images are ${seen.width}x${seen.height}${o.crop ? ' after --crop' : ''} and the output ${size.width}x${size.height}: they are stretched to that shape (give one of --output_width/--output_height to keep their aspect, or --crop)\n`,
    );
  }
  const batch = o.batch_size ?? o.grid_height * o.grid_width;
  if (o.train_size !== undefined && o.train_size < batch)
    throw new UserError(
      `--train_size (${o.train_size}) is smaller than one batch (${batch}); raise it or lower --batch_size`,
    );
  const { config, explicit } = modelFromFlags(cmd, o, size);
  const { train: trainOpts, explicit: explicitTrain } = trainFromFlags(cmd, o);
  const { recipe, explicit: explicitRecipe } = recipeFromFlags(cmd, o);
  const backend = await initBackend(o.backend);
  setPrecision(o.precision as Precision, backend);
  const evaluate =
    o.eval_every > 0
      ? {
          every: o.eval_every,
          kid: fp32Kid(kidScorer(await openFeatureNet(o.eval_model), input, o.eval_count, o.seed)),
        }
      : undefined;
  const video = path.join(output, 'train.mp4');
  let rendering: Promise<unknown> = Promise.resolve();
  const render = (): Promise<unknown> =>
    renderTrainingVideo({ input: output, output: video, seconds: o.video_length, resolution: res, caption: o.caption })
      .then((r) => process.stderr.write(`\nrendered ${r.output} (${r.frames} frames, ${r.width}x${r.height})\n`))
      .catch((err: Error) => process.stderr.write(`\nwarning: video not rendered: ${err.message}\n`));
  const checkpointDir = o.checkpoint_dir || path.join(output, 'checkpoints');
  const locks = [
    { path: output, kind: 'dir' as const },
    { path: checkpointDir, kind: 'dir' as const },
  ];
  const result = await withLocks(locks, 'dcgan train', () =>
    train({
      input,
      output,
      checkpointDir,
      config,
      conditional: o.conditional,
      seed: o.seed,
      train: trainOpts,
      explicitTrain,
      recipe,
      explicitRecipe,
      evaluate,
      epochs: o.epoch,
      iterations: o.iterations,
      sampleRate: o.sample_rate,
      useCheckpoints: o.use_checkpoints,
      checkpointRate: o.checkpoint_rate,
      keepCheckpoints: o.keep_checkpoints,
      resume: o.resume,
      fresh: o.fresh,
      explicit,
      source: {
        pattern,
        crop: o.crop ? { width: o.input_width ?? Infinity, height: o.input_height ?? Infinity } : null,
      },
      ...(o.train_size !== undefined ? { trainSize: o.train_size } : {}),
      onGrid: (it) => {
        // One render at a time, in the background: ffmpeg runs while training continues.
        if (o.auto_render_period > 0 && it > 0 && it % o.auto_render_period === 0) rendering = rendering.then(render);
      },
    }).then(async (r) => {
      await rendering;
      if (o.render_video && r.grids.length) await render();
      return r;
    }),
  );
  const s = result.state;
  process.stdout.write(
    `trained ${result.iterations} iterations (now at ${s.iteration}) on ${backend}: ${result.imagesPerSecond.toFixed(2)} images/s; ${result.grids.length} grids in ${output}${result.stoppedEarly ? ' (stopped early; --resume continues)' : ''}\n`,
  );
  if (result.stoppedEarly) process.exitCode = 130;
}

export function configureTrain(cmd: Command): void {
  addFlags(cmd, trainFlags).action(async () => runTrainCommand(cmd, readFlags(cmd, trainFlags)));
}

/** `dcgan [flags]` as the fork's `main.py`: --train trains, otherwise test mode from the checkpoint. */
export function configureFork(cmd: Command): void {
  addFlags(cmd, forkFlags).action(async () => {
    const o = readFlags(cmd, forkFlags);
    if (o.train) {
      await runTrainCommand(cmd, o);
      if (!o.visualize || !fromCli(cmd, 'visualize')) return;
    }
    const output = o.sample_dir || o.output;
    const checkpoint = o.checkpoint_dir || path.join(output, 'checkpoints');
    if (!existsSync(checkpoint))
      throw new UserError(
        `--checkpoint_dir: ${checkpoint} does not exist; train a model first (dcgan ... --train), then run test mode`,
      );
    await initBackend(o.backend);
    const r = await withLocks([{ path: output, kind: 'dir' }], 'dcgan test mode', () =>
      testMode({
        checkpoint,
        output,
        seed: o.seed,
        visualize: o.visualize,
        seconds: o.video_length,
        points: o.interpolation_points,
        framesPerLeg: 16,
        resolution: resolution(o.render_res),
      }),
    );
    process.stdout.write(
      `test mode: ${r.checkpoint} (iteration ${r.iteration}): ${r.samples}` +
        (r.sweeps.length ? `, ${r.sweeps.length} latent sweeps (${path.basename(r.sweeps[0]!)} ...)` : '') +
        (r.video ? `, ${r.video}` : '') +
        '\n',
    );
  });
}
