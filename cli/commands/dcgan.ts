/**
 * `dcgan train | render | generate` (also `poster-studio dcgan ...`): the seed fork's flags,
 * spelled as it spells them, plus output size, seeds, resume and the conditional model.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { withLocks } from '../../src/core/fs/lock.js';
import { subcommand } from '../program.js';
import { DEFAULT_DATA_DIR, DEFAULT_DCGAN_DATA, DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { initBackend, inFp32, PRECISIONS, setPrecision, type Precision } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { parseResolution } from '../../src/features/video/render.js';
import { ACTIVATIONS, DEFAULT_MODEL, DEFAULT_TRAIN, type ModelConfig, type TrainOptions } from '../../dcgan/config.js';
import { LOSSES, type Recipe, type RecipeName, RECIPES, parseAugments, recipeByName } from '../../dcgan/recipe.js';
import { kidScorer } from '../../dcgan/eval.js';
import { openFeatureNet } from '../../src/features/fid/feature-net.js';
import { configureEval } from './dcgan-eval.js';
import { configureExport } from './dcgan-export.js';
import { DEFAULT_PATTERN, sourceImageSize } from '../../dcgan/data.js';
import { chooseModel, SHIPPED_MODELS } from '../../src/artifacts/default-models.js';
import { CHECKPOINT_NAME } from '../../dcgan/checkpoint.js';
import { generate } from '../../dcgan/generate.js';
import { train } from '../../dcgan/train.js';
import { renderTrainingVideo } from '../../dcgan/video.js';
import { testMode } from '../../dcgan/visualize.js';

const videoFlags = defineFlags({
  render_res: {
    kind: 'string',
    default: '',
    arg: 'WxH',
    help: 'video frame size, e.g. 1280x720 (even sides; the grid is scaled to fit and padded); empty = the grid size',
  },
  video_length: {
    kind: 'float',
    default: 10,
    min: 0.1,
    max: 36000,
    arg: 'seconds',
    help: 'video length in seconds: the frame rate is grids / seconds (kept within 1-60 fps)',
  },
  caption: { kind: 'bool', default: true, help: 'burn the iteration (and epoch, losses) under each frame' },
});

export const trainFlags = defineFlags({
  input: {
    kind: 'path',
    default: DEFAULT_DCGAN_DATA,
    short: '-i',
    help: 'prepare-dcgan output (manifest.json + posters) or any folder of images',
  },
  dataset: {
    kind: 'string',
    arg: 'NAME',
    help: "the fork's --dataset: reads data/NAME, else NAME as a path (replaces --input); dcgan_movies_posters, the seed's folder name, falls back to data/dcgan",
  },
  input_fname_pattern: {
    kind: 'string',
    default: '',
    arg: 'glob',
    help: `which files of the folder to train on (empty = a manifest's posters, else ${DEFAULT_PATTERN})`,
  },
  output: {
    kind: 'path',
    default: DEFAULT_SAMPLES,
    short: '-o',
    help: 'where grids, losses.csv, checkpoints and train.mp4 go',
  },
  sample_dir: { kind: 'path', default: '', help: "the fork's name for --output (empty = --output)" },
  checkpoint_dir: { kind: 'path', default: '', help: 'checkpoint directory (empty = <output>/checkpoints)' },
  epoch: {
    kind: 'int',
    default: 25,
    min: 1,
    max: 100000,
    help: 'epochs to train (an epoch = every poster once, in whole batches)',
  },
  iterations: { kind: 'int', default: 0, min: 0, help: 'stop at this iteration count instead (0 = --epoch decides)' },
  learning_rate: {
    kind: 'float',
    min: 0,
    max: 1,
    help: 'Adam learning rate of both networks (sets --learning_rate_g and --learning_rate_d)',
  },
  learning_rate_g: {
    kind: 'float',
    default: DEFAULT_TRAIN.learningRateG,
    min: 0,
    max: 1,
    help: "generator's Adam learning rate",
  },
  learning_rate_d: {
    kind: 'float',
    default: DEFAULT_TRAIN.learningRateD,
    min: 0,
    max: 1,
    help: "discriminator's Adam learning rate",
  },
  beta1: { kind: 'float', default: DEFAULT_TRAIN.beta1, min: 0, max: 0.999, help: "Adam's beta1 for both networks" },
  grid_height: {
    kind: 'int',
    default: DEFAULT_TRAIN.rows,
    min: 1,
    max: 64,
    help: 'rows of the sample grid (and the batch is grid_height x grid_width unless --batch_size)',
  },
  grid_width: { kind: 'int', default: DEFAULT_TRAIN.cols, min: 1, max: 64, help: 'columns of the sample grid' },
  batch_size: {
    kind: 'int',
    min: 1,
    max: 4096,
    help: 'images per training batch (default: grid_height x grid_width); the grid stays the sample layout',
  },
  train_size: { kind: 'int', min: 1, help: 'images used per epoch at most (default: all)' },
  sample_rate: { kind: 'int', default: 50, min: 1, help: 'write a sample grid every this many iterations' },
  output_width: {
    kind: 'int',
    min: 8,
    max: 1024,
    arg: 'px',
    help: "generated poster width, any size (each layer rounds up); default: the images' width, or the images' aspect when only --output_height is given",
  },
  output_height: {
    kind: 'int',
    min: 8,
    max: 1024,
    arg: 'px',
    help: "generated poster height; default: the images' height, or their aspect from --output_width",
  },
  crop: {
    kind: 'bool',
    default: false,
    help: 'cut the centre --input_width x --input_height pixels of each image before resizing it to the output size',
  },
  input_width: { kind: 'int', min: 1, max: 10000, arg: 'px', help: "width of the --crop (default: the images' width)" },
  input_height: {
    kind: 'int',
    min: 1,
    max: 10000,
    arg: 'px',
    help: "height of the --crop (default: the images' height)",
  },
  nbr_of_layers_g: {
    kind: 'int',
    default: DEFAULT_MODEL.layersG,
    min: 2,
    max: 8,
    help: 'generator layers (1 linear + n-1 transposed convolutions)',
  },
  nbr_of_layers_d: {
    kind: 'int',
    default: DEFAULT_MODEL.layersD,
    min: 2,
    max: 8,
    help: 'discriminator layers (n-1 strided convolutions + 1 linear)',
  },
  batch_norm_g: { kind: 'bool', default: DEFAULT_MODEL.batchNormG, help: 'batch norm in the generator' },
  batch_norm_d: {
    kind: 'bool',
    default: DEFAULT_MODEL.batchNormD,
    help: 'batch norm in the discriminator (not on its first layer)',
  },
  activation_g: {
    kind: 'string',
    default: DEFAULT_MODEL.activationG as string,
    choices: ACTIVATIONS,
    help: 'generator activation',
  },
  activation_d: {
    kind: 'string',
    default: DEFAULT_MODEL.activationD as string,
    choices: ACTIVATIONS,
    help: 'discriminator activation (lrelu = leaky ReLU 0.2)',
  },
  nbr_g_updates: {
    kind: 'int',
    default: DEFAULT_TRAIN.nbrGUpdates,
    min: 1,
    max: 20,
    help: 'generator updates per discriminator update',
  },
  k_w: { kind: 'int', default: DEFAULT_MODEL.kW, min: 1, max: 15, help: 'kernel width' },
  k_h: { kind: 'int', default: DEFAULT_MODEL.kH, min: 1, max: 15, help: 'kernel height' },
  z_dim: { kind: 'int', default: DEFAULT_MODEL.zDim, min: 1, max: 4096, help: 'latent size' },
  gf_dim: {
    kind: 'int',
    default: DEFAULT_MODEL.gf,
    min: 1,
    max: 1024,
    help: "generator's last-layer filters (the layers above have 2x, 4x, ...)",
  },
  df_dim: { kind: 'int', default: DEFAULT_MODEL.df, min: 1, max: 1024, help: "discriminator's first-layer filters" },
  conditional: {
    kind: 'bool',
    default: false,
    help: 'condition G and D on genres and decade (projection discriminator)',
  },
  recipe: {
    kind: 'string',
    default: 'small-data',
    choices: RECIPES,
    help: "small-data = hinge loss, DiffAugment color,translation,cutout, mirrored real posters, EMA 0.999 of G (sources in dcgan/recipe.ts and the README); seed = the fork's plain DCGAN (cross-entropy, no augmentation, no EMA). The four flags below override single parts",
  },
  loss: {
    kind: 'string',
    choices: LOSSES,
    help: "GAN loss (default: the recipe's; bce = the seed's sigmoid cross-entropy, hinge = Lim & Ye 2017)",
  },
  diff_augment: {
    kind: 'list',
    arg: 'a,b',
    help: "DiffAugment policies before D (Zhao et al. 2020): none or a list of color, translation, cutout (default: the recipe's)",
  },
  mirror: { kind: 'bool', help: "flip each real poster left-right with probability 1/2 (default: the recipe's)" },
  ema_decay: {
    kind: 'float',
    min: 0,
    max: 0.99999,
    help: "EMA decay of G's weights used by grids, generate and eval, 0 = off (default: the recipe's)",
  },
  eval_every: {
    kind: 'int',
    default: 0,
    min: 0,
    help: "every this many iterations, KID of --eval_count posters against the training posters (dcgan eval's feature network); the best checkpoint is kept in <checkpoints>/best, KIDs in <output>/kid.csv (0 = off)",
  },
  eval_count: { kind: 'int', default: 500, min: 10, max: 10000, help: 'posters generated for each --eval_every KID' },
  eval_model: {
    kind: 'path',
    exists: 'dir',
    help: 'feature network for --eval_every (default: the shipped classifier, models/default/classifier, as dcgan eval)',
  },
  use_checkpoints: { kind: 'bool', default: true, help: 'write checkpoints (needed for --resume and dcgan generate)' },
  checkpoint_rate: {
    kind: 'int',
    default: 200,
    min: 1,
    help: 'checkpoint every this many iterations (and at the end and on Ctrl-C)',
  },
  keep_checkpoints: { kind: 'int', default: 3, min: 1, max: 1000, help: 'keep the newest N checkpoints' },
  resume: { kind: 'bool', default: false, help: 'continue from the newest checkpoint in the checkpoint directory' },
  fresh: {
    kind: 'bool',
    default: false,
    help: 'delete the grids, losses and checkpoints of an earlier run in --output and start over',
  },
  seed: { kind: 'int', default: 1, min: 0, help: 'seed of weights, batches, noise and the fixed grid latents' },
  render_video: { kind: 'bool', default: true, help: 'render <output>/train.mp4 when training ends' },
  auto_render_period: {
    kind: 'int',
    default: 0,
    min: 0,
    help: 'also render train.mp4 every this many iterations while training (0 = off)',
  },
  precision: {
    kind: 'string',
    choices: PRECISIONS,
    default: 'fp32',
    arg: 'p',
    help: 'bf16: convolutions and matrix products on AMX bf16 tiles with fp32 sums (weights, Adam, batch norm stay fp32); native backend on a CPU with AMX only, refused elsewhere',
  },
  ...videoFlags,
  ...backendFlags,
});

/** `dcgan` itself, as the fork's main.py: the training flags plus --train and test mode's. */
export const forkFlags = defineFlags({
  train: {
    kind: 'bool',
    default: false,
    help: 'train (as dcgan train); without it, test mode: load the newest checkpoint and write test/ images',
  },
  visualize: {
    kind: 'bool',
    default: true,
    help: 'test mode: also one grid per latent dimension swept from -1 to 1 and an interpolation MP4 between random points',
  },
  interpolation_points: {
    kind: 'int',
    default: 3,
    min: 2,
    max: 100,
    help: 'test mode: random latent points the interpolation video visits',
  },
  ...trainFlags,
});

export const renderFlags = defineFlags({
  input: {
    kind: 'path',
    default: DEFAULT_SAMPLES,
    exists: 'dir',
    short: '-i',
    help: 'directory with grid_*.png (a dcgan train --output)',
  },
  output: { kind: 'path', default: '', short: '-o', help: 'video file (empty = <input>/train.mp4)' },
  ...videoFlags,
});

export const generateFlags = defineFlags({
  checkpoint: {
    kind: 'path',
    exists: 'dir',
    help: `a ckpt_* directory, a checkpoints directory (newest), a dcgan train --output or a dcgan export directory (default: ${path.join(DEFAULT_SAMPLES, 'checkpoints')} when it exists, else the shipped one in models/default/generator; a line says which)`,
  },
  output: {
    kind: 'path',
    default: 'generated',
    short: '-o',
    help: 'writes posters/poster_0001.png ... and grid.png (+ grid.json)',
  },
  count: { kind: 'int', default: 60, min: 1, max: 10000, help: 'posters to generate' },
  grid_width: { kind: 'int', default: DEFAULT_TRAIN.cols, min: 1, max: 100, help: 'columns of grid.png' },
  seed: { kind: 'int', default: 1, min: 0, help: 'seed of the latent vectors' },
  genre: {
    kind: 'list',
    default: [],
    arg: 'a,b',
    help: 'conditional models: genres to ask for (e.g. Horror or Action,Sci-Fi)',
  },
  decade: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'conditional models: decade to ask for (e.g. 1980)' },
  bn_stats: {
    kind: 'string',
    default: 'moving',
    choices: ['moving', 'batch'],
    help: "batch norm: the running averages of training, or this batch's own statistics",
  },
  ...backendFlags,
});

const ARCH_FLAGS: [string, keyof ModelConfig][] = [
  ['output_width', 'width'],
  ['output_height', 'height'],
  ['z_dim', 'zDim'],
  ['gf_dim', 'gf'],
  ['df_dim', 'df'],
  ['nbr_of_layers_g', 'layersG'],
  ['nbr_of_layers_d', 'layersD'],
  ['k_h', 'kH'],
  ['k_w', 'kW'],
  ['batch_norm_g', 'batchNormG'],
  ['batch_norm_d', 'batchNormD'],
  ['activation_g', 'activationG'],
  ['activation_d', 'activationD'],
];

/** The named recipe with the parts given explicitly replaced, and those parts alone. */
function recipeFromFlags(
  cmd: Command,
  o: { recipe: string; loss?: string; diff_augment?: string[]; mirror?: boolean; ema_decay?: number },
): { recipe: Recipe; explicit: Partial<Recipe> } {
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
  ['learning_rate_g', 'learningRateG'],
  ['learning_rate_d', 'learningRateD'],
  ['beta1', 'beta1'],
  ['nbr_g_updates', 'nbrGUpdates'],
];

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function resolution(raw: string): { width: number; height: number } | null {
  return raw ? parseResolution('render_res', raw) : null;
}

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

type TrainValues = ReturnType<typeof readFlags<typeof trainFlags>>;

/** KID during training in fp32 whatever the run trains in (--precision), so bf16 and fp32 runs' kid.csv compare. */
const fp32Kid =
  <S, R>(score: (s: S) => Promise<R>) =>
  (s: S): Promise<R> =>
    inFp32(() => score(s));

const fromCli = (cmd: Command, flag: string): boolean => cmd.getOptionValueSource(camel(flag)) === 'cli';

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
  const rows = o.grid_height;
  const cols = o.grid_width;
  const batch = o.batch_size ?? rows * cols;
  if (o.train_size !== undefined && o.train_size < batch)
    throw new UserError(
      `--train_size (${o.train_size}) is smaller than one batch (${batch}); raise it or lower --batch_size`,
    );
  const config: ModelConfig = {
    width: size.width,
    height: size.height,
    channels: 3,
    zDim: o.z_dim,
    gf: o.gf_dim,
    df: o.df_dim,
    layersG: o.nbr_of_layers_g,
    layersD: o.nbr_of_layers_d,
    kH: o.k_h,
    kW: o.k_w,
    batchNormG: o.batch_norm_g,
    batchNormD: o.batch_norm_d,
    activationG: o.activation_g as ModelConfig['activationG'],
    activationD: o.activation_d as ModelConfig['activationD'],
    condition: null,
  };
  const explicit: Partial<ModelConfig> = {};
  for (const [flag, key] of ARCH_FLAGS) {
    if (fromCli(cmd, flag)) (explicit as Record<string, unknown>)[key] = config[key];
  }
  const lrG = o.learning_rate ?? o.learning_rate_g;
  const lrD = o.learning_rate ?? o.learning_rate_d;
  const trainOpts: TrainOptions = {
    learningRateG: lrG,
    learningRateD: lrD,
    beta1: o.beta1,
    nbrGUpdates: o.nbr_g_updates,
    rows,
    cols,
    ...(o.batch_size !== undefined ? { batchSize: o.batch_size } : {}),
  };
  const explicitTrain: Partial<TrainOptions> = {};
  for (const [flag, key] of TRAIN_FLAGS) {
    if (fromCli(cmd, flag)) (explicitTrain as Record<string, unknown>)[key] = trainOpts[key];
  }
  if (fromCli(cmd, 'learning_rate')) Object.assign(explicitTrain, { learningRateG: lrG, learningRateD: lrD });
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

function configureTrain(cmd: Command): void {
  addFlags(cmd, trainFlags).action(async () => runTrainCommand(cmd, readFlags(cmd, trainFlags)));
}

/** `dcgan [flags]` as the fork's `main.py`: --train trains, otherwise test mode from the checkpoint. */
function configureFork(cmd: Command): void {
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

function configureRender(cmd: Command): void {
  addFlags(cmd, renderFlags).action(async () => {
    const o = readFlags(cmd, renderFlags);
    const output = o.output || path.join(o.input, 'train.mp4');
    const r = await withLocks([{ path: output, kind: 'file' }], 'dcgan render', () =>
      renderTrainingVideo({
        input: o.input,
        output,
        seconds: o.video_length,
        resolution: resolution(o.render_res),
        caption: o.caption,
      }),
    );
    process.stdout.write(
      `${r.output}: ${r.frames} frames at ${r.fps.toFixed(2)} fps, ${r.width}x${r.height}, H.264 yuv420p (ffmpeg: ${r.ffmpeg})\n`,
    );
  });
}

/**
 * --checkpoint, else this directory's training run, else the shipped generator; `note` is the
 * one line saying which default was taken (null when the flag chose). The places it looks are
 * parameters so a test can point them at temp folders.
 */
export function generateCheckpoint(
  given: string | undefined,
  where = { samples: DEFAULT_SAMPLES, shipped: SHIPPED_MODELS },
): { dir: string; note: string | null } {
  if (given) return { dir: given, note: null };
  const own = path.join(where.samples, 'checkpoints');
  // A run killed before its first checkpoint leaves an empty folder: that is no model to fall back on.
  if (existsSync(own) && readdirSync(own).some((n) => CHECKPOINT_NAME.test(n)))
    return { dir: own, note: `generator: this folder's training run, ${own} (--checkpoint picks another)` };
  const choice = chooseModel('generator', undefined, '--checkpoint', where.shipped);
  if ('missing' in choice)
    throw new UserError(
      `--checkpoint: ${choice.missing}, and there is no ${own} here; train one (dcgan train) or pass --checkpoint <dir>`,
    );
  return { dir: choice.dir, note: `generator: ${choice.source}, ${choice.dir} (--checkpoint picks another)` };
}

function configureGenerate(cmd: Command): void {
  addFlags(cmd, generateFlags).action(async () => {
    const o = readFlags(cmd, generateFlags);
    const { dir: checkpoint, note } = generateCheckpoint(o.checkpoint);
    if (note) process.stderr.write(`${note}\n`);
    await initBackend(o.backend);
    const r = await withLocks([{ path: o.output, kind: 'dir' }], 'dcgan generate', () =>
      generate({
        checkpoint,
        output: o.output,
        count: o.count,
        cols: o.grid_width,
        seed: o.seed,
        genres: o.genre,
        decade: o.decade === undefined ? null : Math.floor(o.decade / 10) * 10,
        bn: o.bn_stats as 'moving' | 'batch',
      }),
    );
    process.stdout.write(
      `${r.files.length} posters from ${r.checkpoint} (iteration ${r.iteration}) in ${path.dirname(r.files[0]!)}, grid ${r.grid}; mean pairwise L2 distance ${r.diversity.toFixed(2)}\n`,
    );
  });
}

export function configureDcgan(cmd: Command): Command {
  // Options before a subcommand are dcgan's own (the fork's command line); after it, the subcommand's.
  // (Every level from the program down must be positional for that: createProgram sets it.)
  cmd.enablePositionalOptions();
  const sub = (name: string, description: string): Command =>
    subcommand(cmd, name, description).configureHelp({ sortOptions: false, showGlobalOptions: false });
  configureTrain(
    sub(
      'train',
      'train the DCGAN on prepare-dcgan output or any folder of images, writing sample grids, losses and checkpoints',
    ),
  );
  configureRender(sub('render', 'render the sample grids of a training run into an H.264 MP4'));
  configureGenerate(sub('generate', 'generate posters (and a grid) from a checkpoint'));
  configureEval(
    sub(
      'eval',
      'KID, FID and precision/recall of a checkpoint (or every checkpoint of a run) against real posters, with one named feature network',
    ),
  );
  configureExport(
    sub(
      'export',
      "write a checkpoint's generator alone (G's EMA when kept, else G; float16 by default) for shipping or generating elsewhere",
    ),
  );
  configureFork(cmd);
  return cmd;
}
