/**
 * The flag tables of `dcgan train` and of `dcgan` itself (the seed fork's flags, spelled as it
 * spells them, plus output size, seeds, resume and the conditional model), and what turns their
 * values into a ModelConfig, TrainOptions and Recipe.
 */
import type { Command } from 'commander';
import { defineFlags, type readFlags } from '../../src/core/flags.js';
import { DEFAULT_DCGAN_DATA, DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { PRECISIONS } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { parseResolution } from '../../src/features/video/render.js';
import { ACTIVATIONS, DEFAULT_MODEL, DEFAULT_TRAIN, type ModelConfig, type TrainOptions } from '../../dcgan/config.js';
import {
  LOSSES,
  type Recipe,
  type RecipeName,
  RECIPE_KERNEL,
  RECIPES,
  parseAugments,
  recipeByName,
} from '../../dcgan/recipe.js';
import { DEFAULT_PATTERN } from '../../dcgan/data.js';

export const videoFlags = defineFlags({
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
  k_w: {
    kind: 'int',
    min: 1,
    max: 15,
    help: `kernel width (default: the recipe's, ${RECIPE_KERNEL['small-data']} for small-data, ${RECIPE_KERNEL.seed} for seed)`,
  },
  k_h: {
    kind: 'int',
    min: 1,
    max: 15,
    help: `kernel height (default: the recipe's, ${RECIPE_KERNEL['small-data']} for small-data, ${RECIPE_KERNEL.seed} for seed)`,
  },
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
    help: "small-data = 4x4 kernels, hinge loss, DiffAugment color,translation,cutout, mirrored real posters, EMA 0.999 of G (sources in dcgan/recipe.ts and the README); seed = the fork's plain DCGAN (5x5 kernels, cross-entropy, no augmentation, no EMA). --k_w/--k_h and the four flags below override single parts",
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
export function recipeFromFlags(
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

export const fromCli = (cmd: Command, flag: string): boolean => cmd.getOptionValueSource(camel(flag)) === 'cli';

/** --render_res: the video frame size, or null for the grid's own size. */
export function resolution(raw: string): { width: number; height: number } | null {
  return raw ? parseResolution('render_res', raw) : null;
}

export type TrainValues = ReturnType<typeof readFlags<typeof trainFlags>>;

/** The model the flags describe at this output size, and the architecture flags given on the command line. */
export function modelFromFlags(
  cmd: Command,
  o: TrainValues,
  size: { width: number; height: number },
): { config: ModelConfig; explicit: Partial<ModelConfig> } {
  const kernel = RECIPE_KERNEL[o.recipe as RecipeName];
  const config: ModelConfig = {
    width: size.width,
    height: size.height,
    channels: 3,
    zDim: o.z_dim,
    gf: o.gf_dim,
    df: o.df_dim,
    layersG: o.nbr_of_layers_g,
    layersD: o.nbr_of_layers_d,
    kH: o.k_h ?? kernel,
    kW: o.k_w ?? kernel,
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
  return { config, explicit };
}

/** The training hyper-parameters of the flags, and those given on the command line. */
export function trainFromFlags(cmd: Command, o: TrainValues): { train: TrainOptions; explicit: Partial<TrainOptions> } {
  const lrG = o.learning_rate ?? o.learning_rate_g;
  const lrD = o.learning_rate ?? o.learning_rate_d;
  const train: TrainOptions = {
    learningRateG: lrG,
    learningRateD: lrD,
    beta1: o.beta1,
    nbrGUpdates: o.nbr_g_updates,
    rows: o.grid_height,
    cols: o.grid_width,
    ...(o.batch_size !== undefined ? { batchSize: o.batch_size } : {}),
  };
  const explicit: Partial<TrainOptions> = {};
  for (const [flag, key] of TRAIN_FLAGS) {
    if (fromCli(cmd, flag)) (explicit as Record<string, unknown>)[key] = train[key];
  }
  if (fromCli(cmd, 'learning_rate')) Object.assign(explicit, { learningRateG: lrG, learningRateD: lrD });
  return { train, explicit };
}
