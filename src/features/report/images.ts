/**
 * Pictures for the report, embedded as data: URIs. Why embedded rather than files beside the
 * page: the report is then ONE file that can be moved, mailed or archived with nothing to
 * break, and a file:// page never trips over a browser's local-file rules. Grids are small
 * (a 6x10 grid of 64x96 posters is ~100-600 kB); files over 100 kB are re-encoded as JPEG q85 (GAN output is noisy: PNG compresses it badly).
 */
import sharp from 'sharp';
import { encodePng, MAX_INPUT_PIXELS, readImageFile, type RgbImage } from '../../core/images/decode.js';

export const dataUri = (bytes: Uint8Array, mime: string): string =>
  `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;

/** A file as an image data URI; big or odd formats become JPEG so the page stays light. */
export async function fileAsDataUri(file: string, maxBytes = 100_000): Promise<string> {
  const bytes = await readImageFile(file);
  const lower = file.toLowerCase();
  if (bytes.length <= maxBytes && lower.endsWith('.png')) return dataUri(bytes, 'image/png');
  if (bytes.length <= maxBytes && /\.jpe?g$/.test(lower)) return dataUri(bytes, 'image/jpeg');
  const jpeg = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 85 })
    .toBuffer();
  return dataUri(jpeg, 'image/jpeg');
}

export async function rgbAsPngUri(img: RgbImage): Promise<string> {
  return dataUri(await encodePng(img), 'image/png');
}

/** 3x3 box blur: raw input gradients are speckled; a touch of smoothing shows regions. */
function blur(map: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(map.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
            s += map[yy * w + xx]!;
            n++;
          }
        }
      }
      out[y * w + x] = s / n;
    }
  }
  return out;
}

/** Scales a map to [0, 1] by its 99th percentile, so one hot pixel does not wash out the rest. */
export function normaliseMap(map: Float32Array): Float32Array {
  const sorted = Float32Array.from(map).sort();
  const hi = sorted[Math.floor(0.99 * (sorted.length - 1))]! || sorted[sorted.length - 1]! || 1;
  return map.map((v) => Math.min(1, v / hi));
}

// A perceptual dark-to-bright ramp (close to matplotlib's inferno), 5 stops.
const STOPS: [number, number, number][] = [
  [0, 0, 4],
  [87, 16, 110],
  [188, 55, 84],
  [249, 142, 9],
  [252, 255, 164],
];

function ramp(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** The saliency map in colour over a dimmed grey copy of the poster. */
export function heatmapOverlay(img: RgbImage, map: Float32Array): RgbImage {
  const { width: w, height: h } = img;
  if (map.length !== w * h) throw new Error(`saliency map has ${map.length} values for a ${w}x${h} image`);
  const m = normaliseMap(blur(map, w, h));
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const grey = 0.299 * img.data[i * 3]! + 0.587 * img.data[i * 3 + 1]! + 0.114 * img.data[i * 3 + 2]!;
    const c = ramp(m[i]!);
    const a = 0.25 + 0.6 * m[i]!;
    for (let k = 0; k < 3; k++) data[i * 3 + k] = Math.round((1 - a) * grey * 0.6 + a * c[k]!);
  }
  return { width: w, height: h, data };
}
