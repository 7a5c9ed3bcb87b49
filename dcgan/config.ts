/**
 * The DCGAN's architecture as one plain value: the same object builds the networks, goes into
 * every checkpoint, and is checked against the flags on --resume, so a checkpoint always
 * rebuilds the exact networks that wrote it.
 */

export const ACTIVATIONS = [
  'relu',
  'relu6',
  'lrelu',
  'elu',
  'selu',
  'tanh',
  'sigmoid',
  'softplus',
  'softsign',
  'swish',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** What a conditional model is conditioned on: genres (multi-hot) and a decade (one-hot). */
export interface ConditionVocab {
  genres: string[];
  decades: number[];
}

export interface ModelConfig {
  width: number;
  height: number;
  channels: 3;
  zDim: number;
  gf: number;
  df: number;
  layersG: number;
  layersD: number;
  kH: number;
  kW: number;
  batchNormG: boolean;
  batchNormD: boolean;
  activationG: Activation;
  activationD: Activation;
  /** Present for a conditional model. */
  condition: ConditionVocab | null;
}

/** How training updates the networks, and the sample grid (its cells are the batch). */
export interface TrainOptions {
  learningRateG: number;
  learningRateD: number;
  beta1: number;
  nbrGUpdates: number;
  rows: number;
  cols: number;
  /** Images per training batch (the fork's --batch_size); absent = rows x cols, as older checkpoints were trained. */
  batchSize?: number;
}

/** The training batch: --batch_size, else one image per grid cell as the fork does. */
export const batchSizeOf = (t: TrainOptions): number => t.batchSize ?? t.rows * t.cols;

/**
 * The carpedm20 fork's defaults: 64x64 images, 5 layers a side, z of 100, 64 filters, 5x5
 * kernels, batch norm, ReLU in G and leaky ReLU in D. The `dcgan train` flag table and the
 * benchmark read them from here.
 */
export const DEFAULT_MODEL: ModelConfig = {
  width: 64,
  height: 64,
  channels: 3,
  zDim: 100,
  gf: 64,
  df: 64,
  layersG: 5,
  layersD: 5,
  kH: 5,
  kW: 5,
  batchNormG: true,
  batchNormD: true,
  activationG: 'relu',
  activationD: 'lrelu',
  condition: null,
};

/** Adam(2e-4, beta1 0.5) for both networks, 2 G updates per D update, a 6x10 sample grid (batch 60). */
export const DEFAULT_TRAIN: TrainOptions = {
  learningRateG: 2e-4,
  learningRateD: 2e-4,
  beta1: 0.5,
  nbrGUpdates: 2,
  rows: 6,
  cols: 10,
};

export const conditionDim = (c: ModelConfig): number =>
  c.condition ? c.condition.genres.length + c.condition.decades.length : 0;

/**
 * Feature-map sizes from the image down: each strided layer halves the size, rounding up as the
 * fork does (conv_out_size_same = ceil(size / stride)), so any size trains. G runs this chain
 * backwards and its transposed convolutions produce each exact size (a 161-pixel side grows
 * 11 -> 21 -> 41 -> 81 -> 161); D's 'same' convolutions walk it forwards. Powers of two halve
 * exactly, so those sizes build the very networks they always did.
 */
export function layerSizes(size: number, layers: number): number[] {
  const out = [size];
  for (let i = 1; i < layers; i++) out.push(Math.ceil(out[i - 1]! / 2));
  return out;
}

/** The smallest map (G's first, D's last) of each side. */
export function smallestMap(c: ModelConfig, layers: number): { h: number; w: number } {
  return { h: layerSizes(c.height, layers)[layers - 1]!, w: layerSizes(c.width, layers)[layers - 1]! };
}

/** Channels of G's layers from the first feature map down to the image: gf*2^(L-2) ... gf, 3. */
export function generatorChannels(c: ModelConfig): number[] {
  const ch: number[] = [];
  for (let i = c.layersG - 2; i >= 0; i--) ch.push(c.gf * 2 ** i);
  ch.push(c.channels);
  return ch;
}

/** Channels of D's strided convolutions: df, df*2, ..., df*2^(L-2). */
export function discriminatorChannels(c: ModelConfig): number[] {
  return Array.from({ length: c.layersD - 1 }, (_, i) => c.df * 2 ** i);
}
