/**
 * `dcgan train | render | generate` (also `poster-studio dcgan ...`): the seed fork's flags,
 * spelled as it spells them, plus output size, seeds, resume and the conditional model.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { subcommand } from '../program.js';
import { DEFAULT_DCGAN_DATA, DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { parseResolution } from '../../src/features/video/render.js';
import { manifestPath } from '../../src/artifacts/manifest.js';
import { ACTIVATIONS, DEFAULT_MODEL, DEFAULT_TRAIN, type ModelConfig, type TrainOptions, checkModelConfig } from '../../dcgan/config.js';
import { LOSSES, type Recipe, type RecipeName, RECIPES, parseAugments, recipeByName } from '../../dcgan/recipe.js';
import { generate } from '../../dcgan/generate.js';
import { train } from '../../dcgan/train.js';
import { renderTrainingVideo } from '../../dcgan/video.js';
import { kidScorer } from '../../dcgan/eval.js';
import { openFeatureNet } from '../../src/features/fid/feature-net.js';
import { configureEval } from './dcgan-eval.js';

const videoFlags = defineFlags({
  render_res: { kind: 'string', default: '', arg: 'WxH', help: 'video frame size, e.g. 1280x720 (even sides; the grid is scaled to fit and padded); empty = the grid size' },
  video_length: { kind: 'float', default: 10, min: 0.1, max: 36000, arg: 'seconds', help: 'video length in seconds: the frame rate is grids / seconds (kept within 1-60 fps)' },
  caption: { kind: 'bool', default: true, help: 'burn the iteration (and epoch, losses) under each frame' },
});

export const trainFlags = defineFlags({
  input: { kind: 'path', default: DEFAULT_DCGAN_DATA, short: '-i', help: 'prepare-dcgan output (manifest.json + posters)' },
  output: { kind: 'path', default: DEFAULT_SAMPLES, short: '-o', help: 'where grids, losses.csv, checkpoints and train.mp4 go' },
  checkpoint_dir: { kind: 'path', default: '', help: 'checkpoint directory (empty = <output>/checkpoints)' },
  epoch: { kind: 'int', default: 25, min: 1, max: 100000, help: 'epochs to train (an epoch = every poster once, in whole batches)' },
  iterations: { kind: 'int', default: 0, min: 0, help: 'stop at this iteration count instead (0 = --epoch decides)' },
  learning_rate_g: { kind: 'float', default: DEFAULT_TRAIN.learningRateG, min: 0, max: 1, help: "generator's Adam learning rate" },
  learning_rate_d: { kind: 'float', default: DEFAULT_TRAIN.learningRateD, min: 0, max: 1, help: "discriminator's Adam learning rate" },
  beta1: { kind: 'float', default: DEFAULT_TRAIN.beta1, min: 0, max: 0.999, help: "Adam's beta1 for both networks" },
  grid_height: { kind: 'int', default: DEFAULT_TRAIN.rows, min: 1, max: 64, help: 'rows of the sample grid (batch = grid_height x grid_width)' },
  grid_width: { kind: 'int', default: DEFAULT_TRAIN.cols, min: 1, max: 64, help: 'columns of the sample grid' },
  sample_rate: { kind: 'int', default: 50, min: 1, help: 'write a sample grid every this many iterations' },
  output_width: { kind: 'int', default: DEFAULT_MODEL.width, min: 8, max: 1024, arg: 'px', help: 'generated poster width (a multiple of 2^(layers-1), 16 with 5 layers)' },
  output_height: { kind: 'int', default: DEFAULT_MODEL.height, min: 8, max: 1024, arg: 'px', help: 'generated poster height; 96 with width 64 keeps the 2:3 poster shape' },
  nbr_of_layers_g: { kind: 'int', default: DEFAULT_MODEL.layersG, min: 2, max: 8, help: 'generator layers (1 linear + n-1 transposed convolutions)' },
  nbr_of_layers_d: { kind: 'int', default: DEFAULT_MODEL.layersD, min: 2, max: 8, help: 'discriminator layers (n-1 strided convolutions + 1 linear)' },
  batch_norm_g: { kind: 'bool', default: DEFAULT_MODEL.batchNormG, help: 'batch norm in the generator' },
  batch_norm_d: { kind: 'bool', default: DEFAULT_MODEL.batchNormD, help: 'batch norm in the discriminator (not on its first layer)' },
  activation_g: { kind: 'string', default: DEFAULT_MODEL.activationG as string, choices: ACTIVATIONS, help: 'generator activation' },
  activation_d: { kind: 'string', default: DEFAULT_MODEL.activationD as string, choices: ACTIVATIONS, help: 'discriminator activation (lrelu = leaky ReLU 0.2)' },
  nbr_g_updates: { kind: 'int', default: DEFAULT_TRAIN.nbrGUpdates, min: 1, max: 20, help: 'generator updates per discriminator update' },
  k_w: { kind: 'int', default: DEFAULT_MODEL.kW, min: 1, max: 15, help: 'kernel width' },
  k_h: { kind: 'int', default: DEFAULT_MODEL.kH, min: 1, max: 15, help: 'kernel height' },
  z_dim: { kind: 'int', default: DEFAULT_MODEL.zDim, min: 1, max: 4096, help: 'latent size' },
  gf_dim: { kind: 'int', default: DEFAULT_MODEL.gf, min: 1, max: 1024, help: "generator's last-layer filters (the layers above have 2x, 4x, ...)" },
  df_dim: { kind: 'int', default: DEFAULT_MODEL.df, min: 1, max: 1024, help: "discriminator's first-layer filters" },
  conditional: { kind: 'bool', default: false, help: 'condition G and D on genres and decade (projection discriminator)' },
  recipe: { kind: 'string', default: 'small-data', choices: RECIPES, help: "small-data = hinge loss, DiffAugment color,translation,cutout, mirrored real posters, EMA 0.999 of G (sources in dcgan/recipe.ts and the README); seed = the fork's plain DCGAN (cross-entropy, no augmentation, no EMA). The four flags below override single parts" },
  loss: { kind: 'string', choices: LOSSES, help: "GAN loss (default: the recipe's; bce = the seed's sigmoid cross-entropy, hinge = Lim & Ye 2017)" },
  diff_augment: { kind: 'list', arg: 'a,b', help: "DiffAugment policies before D (Zhao et al. 2020): none or a list of color, translation, cutout (default: the recipe's)" },
  mirror: { kind: 'bool', help: "flip each real poster left-right with probability 1/2 (default: the recipe's)" },
  ema_decay: { kind: 'float', min: 0, max: 0.99999, help: "EMA decay of G's weights used by grids, generate and eval, 0 = off (default: the recipe's)" },
  eval_every: { kind: 'int', default: 0, min: 0, help: 'every this many iterations, KID of --eval_count posters against the training posters (dcgan eval\'s feature network); the best checkpoint is kept in <checkpoints>/best, KIDs in <output>/kid.csv (0 = off)' },
  eval_count: { kind: 'int', default: 500, min: 10, max: 10000, help: 'posters generated for each --eval_every KID' },
  eval_model: { kind: 'path', exists: 'dir', help: 'feature network for --eval_every (default: assets/poster-features, as dcgan eval)' },
  use_checkpoints: { kind: 'bool', default: true, help: 'write checkpoints (needed for --resume and dcgan generate)' },
  checkpoint_rate: { kind: 'int', default: 200, min: 1, help: 'checkpoint every this many iterations (and at the end and on Ctrl-C)' },
  keep_checkpoints: { kind: 'int', default: 3, min: 1, max: 1000, help: 'keep the newest N checkpoints' },
  resume: { kind: 'bool', default: false, help: 'continue from the newest checkpoint in the checkpoint directory' },
  fresh: { kind: 'bool', default: false, help: 'delete the grids, losses and checkpoints of an earlier run in --output and start over' },
  seed: { kind: 'int', default: 1, min: 0, help: 'seed of weights, batches, noise and the fixed grid latents' },
  render_video: { kind: 'bool', default: true, help: 'render <output>/train.mp4 when training ends' },
  auto_render_period: { kind: 'int', default: 0, min: 0, help: 'also render train.mp4 every this many iterations while training (0 = off)' },
  ...videoFlags,
  ...backendFlags,
});

export const renderFlags = defineFlags({
  input: { kind: 'path', default: DEFAULT_SAMPLES, exists: 'dir', short: '-i', help: 'directory with grid_*.png (a dcgan train --output)' },
  output: { kind: 'path', default: '', short: '-o', help: 'video file (empty = <input>/train.mp4)' },
  ...videoFlags,
});

export const generateFlags = defineFlags({
  checkpoint: { kind: 'path', default: path.join(DEFAULT_SAMPLES, 'checkpoints'), exists: 'dir', help: 'a ckpt_* directory, a checkpoints directory (newest) or a dcgan train --output' },
  output: { kind: 'path', default: 'generated', short: '-o', help: 'writes posters/poster_0001.png ... and grid.png (+ grid.json)' },
  count: { kind: 'int', default: 60, min: 1, max: 10000, help: 'posters to generate' },
  grid_width: { kind: 'int', default: 10, min: 1, max: 100, help: 'columns of grid.png' },
  seed: { kind: 'int', default: 1, min: 0, help: 'seed of the latent vectors' },
  genre: { kind: 'list', default: [], arg: 'a,b', help: 'conditional models: genres to ask for (e.g. Horror or Action,Sci-Fi)' },
  decade: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'conditional models: decade to ask for (e.g. 1980)' },
  bn_stats: { kind: 'string', default: 'moving', choices: ['moving', 'batch'], help: "batch norm: the running averages of training, or this batch's own statistics" },
  ...backendFlags,
});

const ARCH_FLAGS: [string, keyof ModelConfig][] = [
  ['output_width', 'width'], ['output_height', 'height'], ['z_dim', 'zDim'], ['gf_dim', 'gf'], ['df_dim', 'df'],
  ['nbr_of_layers_g', 'layersG'], ['nbr_of_layers_d', 'layersD'], ['k_h', 'kH'], ['k_w', 'kW'],
  ['batch_norm_g', 'batchNormG'], ['batch_norm_d', 'batchNormD'], ['activation_g', 'activationG'], ['activation_d', 'activationD'],
];

/** The named recipe with the parts given explicitly replaced, and those parts alone. */
function recipeFromFlags(cmd: Command, o: { recipe: string; loss?: string; diff_augment?: string[]; mirror?: boolean; ema_decay?: number }): { recipe: Recipe; explicit: Partial<Recipe> } {
  const given: Partial<Recipe> = {};
  if (o.loss !== undefined) given.loss = o.loss as Recipe['loss'];
  if (o.diff_augment !== undefined) given.diffAugment = parseAugments(o.diff_augment);
  if (o.mirror !== undefined) given.mirror = o.mirror;
  if (o.ema_decay !== undefined) given.emaDecay = o.ema_decay;
  const recipe = { ...recipeByName(o.recipe as RecipeName), ...given };
  const explicit: Partial<Recipe> = cmd.getOptionValueSource('recipe') === 'cli' ? { ...recipe } : given;
  return { recipe, explicit };
}

const TRAIN_FLAGS: [string, keyof TrainOptions][] = [
  ['learning_rate_g', 'learningRateG'], ['learning_rate_d', 'learningRateD'], ['beta1', 'beta1'], ['nbr_g_updates', 'nbrGUpdates'],
];

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());


function resolution(raw: string): { width: number; height: number } | null {
  return raw ? parseResolution('render_res', raw) : null;
}

function configureTrain(cmd: Command): void {
  addFlags(cmd, trainFlags).action(async () => {
    const o = readFlags(cmd, trainFlags);
    const res = resolution(o.render_res);
    if (o.resume && o.fresh) throw new UserError('--resume and --fresh exclude each other');
    if (!existsSync(manifestPath(o.input))) {
      throw new UserError(`--input: ${manifestPath(o.input)} not found; run prepare-dcgan first (e.g. prepare-dcgan --min_year=1980 --exclude_genres=Animation,Comedy --output ${o.input})`);
    }
    const config: ModelConfig = {
      width: o.output_width, height: o.output_height, channels: 3, zDim: o.z_dim, gf: o.gf_dim, df: o.df_dim,
      layersG: o.nbr_of_layers_g, layersD: o.nbr_of_layers_d, kH: o.k_h, kW: o.k_w,
      batchNormG: o.batch_norm_g, batchNormD: o.batch_norm_d,
      activationG: o.activation_g as ModelConfig['activationG'], activationD: o.activation_d as ModelConfig['activationD'],
      condition: null,
    };
    checkModelConfig(config);
    const explicit: Partial<ModelConfig> = {};
    for (const [flag, key] of ARCH_FLAGS) {
      if (cmd.getOptionValueSource(camel(flag)) === 'cli') (explicit as Record<string, unknown>)[key] = config[key];
    }
    const trainOpts: TrainOptions = {
      learningRateG: o.learning_rate_g, learningRateD: o.learning_rate_d, beta1: o.beta1,
      nbrGUpdates: o.nbr_g_updates, rows: o.grid_height, cols: o.grid_width,
    };
    const explicitTrain: Partial<TrainOptions> = {};
    for (const [flag, key] of TRAIN_FLAGS) {
      if (cmd.getOptionValueSource(camel(flag)) === 'cli') (explicitTrain as Record<string, unknown>)[key] = trainOpts[key];
    }
    const { recipe, explicit: explicitRecipe } = recipeFromFlags(cmd, o);
    const backend = await initBackend(o.backend);
    const evaluate = o.eval_every > 0 ? { every: o.eval_every, kid: kidScorer(await openFeatureNet(o.eval_model), o.input, o.eval_count, o.seed) } : undefined;
    const video = path.join(o.output, 'train.mp4');
    let rendering: Promise<unknown> = Promise.resolve();
    const render = (): Promise<unknown> =>
      renderTrainingVideo({ input: o.output, output: video, seconds: o.video_length, resolution: res, caption: o.caption })
        .then((r) => process.stderr.write(`\nrendered ${r.output} (${r.frames} frames, ${r.width}x${r.height})\n`))
        .catch((err: Error) => process.stderr.write(`\nwarning: video not rendered: ${err.message}\n`));
    const result = await train({
      input: o.input,
      output: o.output,
      checkpointDir: o.checkpoint_dir || path.join(o.output, 'checkpoints'),
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
      onGrid: (it) => {
        // One render at a time, in the background: ffmpeg runs while training continues.
        if (o.auto_render_period > 0 && it > 0 && it % o.auto_render_period === 0) rendering = rendering.then(render);
      },
    });
    await rendering;
    if (o.render_video && result.grids.length) await render();
    const s = result.state;
    process.stdout.write(
      `trained ${result.iterations} iterations (now at ${s.iteration}) on ${backend}: ${result.imagesPerSecond.toFixed(2)} images/s; ${result.grids.length} grids in ${o.output}${result.stoppedEarly ? ' (stopped early; --resume continues)' : ''}\n`,
    );
    if (result.stoppedEarly) process.exitCode = 130;
  });
}

function configureRender(cmd: Command): void {
  addFlags(cmd, renderFlags).action(async () => {
    const o = readFlags(cmd, renderFlags);
    const r = await renderTrainingVideo({
      input: o.input, output: o.output || path.join(o.input, 'train.mp4'), seconds: o.video_length, resolution: resolution(o.render_res), caption: o.caption,
    });
    process.stdout.write(`${r.output}: ${r.frames} frames at ${r.fps.toFixed(2)} fps, ${r.width}x${r.height}, H.264 yuv420p (ffmpeg: ${r.ffmpeg})\n`);
  });
}

function configureGenerate(cmd: Command): void {
  addFlags(cmd, generateFlags).action(async () => {
    const o = readFlags(cmd, generateFlags);
    await initBackend(o.backend);
    const r = await generate({
      checkpoint: o.checkpoint, output: o.output, count: o.count, cols: o.grid_width, seed: o.seed,
      genres: o.genre, decade: o.decade === undefined ? null : Math.floor(o.decade / 10) * 10, bn: o.bn_stats as 'moving' | 'batch',
    });
    process.stdout.write(`${r.files.length} posters from ${r.checkpoint} (iteration ${r.iteration}) in ${path.dirname(r.files[0]!)}, grid ${r.grid}; mean pairwise L2 distance ${r.diversity.toFixed(2)}\n`);
  });
}

export function configureDcgan(cmd: Command): Command {
  configureTrain(subcommand(cmd, 'train', 'train the DCGAN on prepare-dcgan output, writing sample grids, losses and checkpoints'));
  configureRender(subcommand(cmd, 'render', 'render the sample grids of a training run into an H.264 MP4'));
  configureGenerate(subcommand(cmd, 'generate', 'generate posters (and a grid) from a checkpoint'));
  configureEval(subcommand(cmd, 'eval', 'KID, FID and precision/recall of a checkpoint (or every checkpoint of a run) against real posters, with one named feature network'));
  return cmd;
}
