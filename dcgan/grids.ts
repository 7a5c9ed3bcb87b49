/**
 * The sample grids of training: one PNG of a fixed latent batch (+ its sidecar), and the
 * diversity figure the sidecar carries.
 */
import path from 'node:path';
import { type GridSidecar, gridBase, writeSidecar } from '../src/artifacts/grid-sidecar.js';
import { writeFileAtomic } from '../src/core/fs/atomic.js';
import { encodePng, floatToRgb, type RgbImage } from '../src/core/images/decode.js';
import { composeGrid, type GridGeometry } from '../src/core/images/grid.js';

export const GRID_GAP = 2;

/** NHWC floats in [-1, 1] to one RGB image per sample. */
export function toImages(pixels: Float32Array, count: number, width: number, height: number): RgbImage[] {
  const per = width * height * 3;
  return Array.from({ length: count }, (_, i) => ({ width, height, data: floatToRgb(pixels, 'tanh', i * per, per) }));
}

/** Mean L2 distance over all pairs of samples: a quick mode-collapse check. */
export function meanPairwiseDistance(pixels: Float32Array, count: number): number {
  const per = pixels.length / count;
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      let d = 0;
      for (let k = 0; k < per; k++) {
        const x = pixels[i * per + k]! - pixels[j * per + k]!;
        d += x * x;
      }
      sum += Math.sqrt(d);
      pairs++;
    }
  }
  return pairs ? sum / pairs : 0;
}

/** The grid PNG, then its sidecar (src/artifacts/grid-sidecar.ts). */
export async function writeGrid(
  dir: string,
  images: RgbImage[],
  geometry: GridGeometry,
  sidecar: GridSidecar,
): Promise<string> {
  const png = path.join(dir, `${gridBase(sidecar.iteration)}.png`);
  await writeFileAtomic(png, await encodePng(composeGrid(images, geometry)));
  await writeSidecar(png, sidecar);
  return png;
}
