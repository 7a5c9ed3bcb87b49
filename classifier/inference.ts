/**
 * Inference over the in-memory dataset (byte images already at the input size) for training and
 * evaluation. Images of any size go through the saved classifier's loader instead
 * (src/artifacts/classifier-model.ts).
 */
import { featureModel, predictTta, type Tta } from '../src/artifacts/classifier-model.js';
import { rgbToFloat } from '../src/core/images/decode.js';
import { tf, type LayersModel } from '../engine/index.js';

/** Float batch in the classifier's [0,1] range from byte images already at the input size. */
export function batchTensor(images: readonly Uint8Array[], width: number, height: number): tf.Tensor4D {
  const size = width * height * 3;
  const buf = new Float32Array(images.length * size);
  images.forEach((img, i) => rgbToFloat(img, 'unit', buf, i * size));
  return tf.tensor4d(buf, [images.length, height, width, 3]);
}

/** Sigmoid scores (row-major n x k) of byte images at the model's input size, in batches, under `tta`. */
export async function predictBytes(
  model: LayersModel,
  images: readonly Uint8Array[],
  width: number,
  height: number,
  tta: Tta = 'none',
  batch = 32,
): Promise<Float32Array> {
  const k = model.outputs[0]!.shape[1]!;
  const out = new Float32Array(images.length * k);
  for (let i = 0; i < images.length; i += batch) {
    const x = batchTensor(images.slice(i, i + batch), width, height);
    const y = predictTta(model, x, tta);
    out.set((await y.data()) as Float32Array, i * k);
    tf.dispose([x, y]);
  }
  return out;
}

/** Penultimate features, never flipped (the year/IMDB heads are fitted and read on these). */
export async function featuresOfBytes(
  model: LayersModel,
  images: readonly Uint8Array[],
  width: number,
  height: number,
  batch = 32,
): Promise<Float32Array[]> {
  const f = featureModel(model);
  const out: Float32Array[] = [];
  for (let i = 0; i < images.length; i += batch) {
    const x = batchTensor(images.slice(i, i + batch), width, height);
    const y = f.predict(x) as tf.Tensor;
    const v = (await y.data()) as Float32Array;
    const d = v.length / (y.shape[0] ?? 1);
    for (let r = 0; r < y.shape[0]!; r++) out.push(v.slice(r * d, (r + 1) * d));
    tf.dispose([x, y]);
  }
  return out;
}
