/**
 * A tiny prepare-dcgan output (manifest.json + JPEGs) and a tiny DCGAN configuration, so the
 * dcgan tests train real iterations in well under a second each on the plain cpu backend.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tempDir } from './temp-dir.js';
import { encodeJpeg } from '../../src/core/images/decode.js';
import type { ModelConfig } from '../../dcgan/config.js';
import type { TrainOptions } from '../../dcgan/config.js';

const GENRES = ['Drama', 'Horror', 'Action'];

/** `count` small posters with distinct gradients, genres cycling and years across four decades. */
export async function makeDcganFixture(count = 12): Promise<string> {
  const dir = await tempDir('dcgan-fixture-');
  const kept = [];
  const w = 18;
  const h = 27;
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        data[o] = (i * 37 + x * 9) % 256;
        data[o + 1] = (y * 7 + i * 11) % 256;
        data[o + 2] = x > w / 3 && x < (2 * w) / 3 ? 220 : 30;
      }
    }
    const file = `${1000 + i}.jpg`;
    await fs.writeFile(path.join(dir, file), await encodeJpeg({ width: w, height: h, data }));
    kept.push({
      imdbId: 1000 + i,
      file,
      title: `Movie ${i} (${1980 + (i % 4) * 10})`,
      year: 1980 + (i % 4) * 10,
      genres: [GENRES[i % 3]!],
    });
  }
  await fs.writeFile(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ version: 1, params: {}, size: { width: w, height: h }, kept, skipped: [] }),
  );
  return dir;
}

export function tinyConfig(width = 8, height = 12): ModelConfig {
  return {
    width,
    height,
    channels: 3,
    zDim: 8,
    gf: 4,
    df: 4,
    layersG: 3,
    layersD: 3,
    kH: 3,
    kW: 3,
    batchNormG: true,
    batchNormD: true,
    activationG: 'relu',
    activationD: 'lrelu',
    condition: null,
  };
}

export const tinyTrain = (rows = 2, cols = 3): TrainOptions => ({
  learningRateG: 2e-3,
  learningRateD: 2e-3,
  beta1: 0.5,
  nbrGUpdates: 2,
  rows,
  cols,
});
