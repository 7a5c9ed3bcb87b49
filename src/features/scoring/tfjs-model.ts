/**
 * Any saved tfjs genre classifier (model.json + metadata.json) as the three functions the
 * scoring studio needs: genre scores, penultimate-layer features (for poster-FID) and input
 * gradients (for saliency). Models stay independent of each other: this reads the files a
 * classifier writes, never the classifier's code; the CLI may hand in the classifier's own
 * functions instead.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../core/errors.js';
import { rgbToFloat, type RgbImage } from '../../core/images/decode.js';
import { loadLayersModel } from '../../core/model-io.js';
import { tf, type LayersModel } from '../../../engine/index.js';

export interface ModelInput {
  width: number;
  height: number;
  /** Pixel scaling the classifier was trained with. */
  range: 'unit' | 'tanh';
}

export interface GenreModel {
  name: string;
  dir: string;
  genres: string[];
  input: ModelInput;
  metadata: Record<string, unknown> | null;
  score(images: RgbImage[]): Promise<Record<string, number>[]>;
  features(images: RgbImage[]): Promise<Float32Array[]>;
  /** |∂ score(genre) / ∂ pixel|, max over channels, per image at the model's input size. */
  saliency(images: RgbImage[], genre: string): Promise<Float32Array[]>;
  model: LayersModel;
}

/** Resizes to exactly width x height (no-op when already there). */
export async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (img.width === width && img.height === height) return img;
  const { data, info } = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

async function toBatch(images: RgbImage[], input: ModelInput): Promise<tf.Tensor4D> {
  const size = input.width * input.height * 3;
  const buf = new Float32Array(images.length * size);
  for (const [i, img] of images.entries()) {
    const r = await resizeRgb(img, input.width, input.height);
    rgbToFloat(r.data, input.range, buf, i * size);
  }
  return tf.tensor4d(buf, [images.length, input.height, input.width, 3]);
}

/** The tensor that feeds the last Dense layer: the "penultimate" features FID compares. */
function featureModel(model: LayersModel): LayersModel {
  const dense = [...model.layers].reverse().find((l) => l.getClassName() === 'Dense');
  if (!dense) throw new Error('the model has no Dense layer to take features before');
  return tf.model({ inputs: model.inputs, outputs: dense.input as tf.SymbolicTensor });
}

function pickGenres(meta: Record<string, unknown> | null, outputs: number): string[] {
  const g = meta?.genres;
  if (Array.isArray(g) && g.length === outputs && g.every((x) => typeof x === 'string')) return g as string[];
  return Array.from({ length: outputs }, (_, i) => `genre ${i + 1}`);
}

function pickRange(meta: Record<string, unknown> | null): 'unit' | 'tanh' {
  const r = meta?.range ?? meta?.inputRange ?? (meta?.input as Record<string, unknown> | undefined)?.range;
  return r === 'tanh' ? 'tanh' : 'unit';
}

export function wrapLayersModel(model: LayersModel, opts: { name: string; dir: string; genres?: string[]; range?: 'unit' | 'tanh'; metadata?: Record<string, unknown> | null }): GenreModel {
  const shape = model.inputs[0]!.shape;
  const [height, width, channels] = [shape[1], shape[2], shape[3]];
  if (!height || !width || channels !== 3) throw new Error(`model input shape ${JSON.stringify(shape)} is not [batch, height, width, 3]`);
  const outputs = model.outputs[0]!.shape[1] ?? 0;
  const genres = opts.genres ?? pickGenres(opts.metadata ?? null, outputs);
  const input: ModelInput = { width, height, range: opts.range ?? pickRange(opts.metadata ?? null) };
  let feats: LayersModel | null = null;
  return {
    name: opts.name,
    dir: opts.dir,
    genres,
    input,
    metadata: opts.metadata ?? null,
    model,
    async score(images) {
      if (!images.length) return [];
      const x = await toBatch(images, input);
      const y = model.predict(x) as tf.Tensor;
      const v = (await y.data()) as Float32Array;
      x.dispose();
      y.dispose();
      return images.map((_, i) => Object.fromEntries(genres.map((g, j) => [g, v[i * genres.length + j]!])));
    },
    async features(images) {
      if (!images.length) return [];
      feats ??= featureModel(model);
      const x = await toBatch(images, input);
      const y = feats.predict(x) as tf.Tensor;
      const flat = y.reshape([images.length, -1]);
      const v = (await flat.data()) as Float32Array;
      const d = flat.shape[1]!;
      tf.dispose([x, y, flat]);
      return images.map((_, i) => v.slice(i * d, (i + 1) * d));
    },
    async saliency(images, genre) {
      const j = genres.indexOf(genre);
      if (j < 0) throw new Error(`unknown genre ${genre}; the model has ${genres.join(', ')}`);
      const x = await toBatch(images, input);
      // Images are independent at inference, so one backward pass gives every image's gradient.
      const grad = tf.grad((t: tf.Tensor) => (model.apply(t, { training: false }) as tf.Tensor).slice([0, j], [-1, 1]).sum())(x);
      const m = grad.abs().max(3);
      const v = (await m.data()) as Float32Array;
      tf.dispose([x, grad, m]);
      const n = input.width * input.height;
      return images.map((_, i) => v.slice(i * n, (i + 1) * n));
    },
  };
}

/** Opens models/<name> (model.json + weights + metadata.json), as `classifier train` saves it. */
export async function openGenreModel(dir: string): Promise<GenreModel> {
  let metadata: Record<string, unknown> | null = null;
  try {
    metadata = JSON.parse(await fs.readFile(path.join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    metadata = null;
  }
  let model: LayersModel;
  try {
    model = await loadLayersModel(dir);
  } catch (err) {
    throw new UserError(`${dir}: cannot load the classifier (${(err as Error).message.split('\n')[0]})`);
  }
  return wrapLayersModel(model, { name: path.basename(path.resolve(dir)), dir, metadata });
}
