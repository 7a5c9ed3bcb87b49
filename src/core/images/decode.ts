/**
 * Image I/O on sharp (libvips): every poster becomes 8-bit sRGB RGB, whatever it was on disk
 * (grayscale, CMYK, PNG named .jpg, alpha), so models see one format.
 */
import { open } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved RGB, row-major, length width * height * 3. */
  data: Uint8Array;
}

export class ImageDecodeError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: cannot decode image (${reason})`);
    this.name = 'ImageDecodeError';
  }
}

/** Images larger than this many pixels are refused rather than decoded (a 10000x10000 bomb). */
export const MAX_INPUT_PIXELS = 40_000_000;

/** Image files larger than this are refused unread (a poster is ~20 kB, a 64x96 sample grid ~1 MB). */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

/**
 * An image file's bytes, read only when it is a regular file of at most maxBytes, checked on
 * the open handle (fstat): a symlink to /dev/zero or a FIFO is refused instead of read forever,
 * and a file swapped after a check cannot slip through.
 */
export async function readImageFile(file: string, maxBytes = MAX_IMAGE_BYTES): Promise<Buffer> {
  const h = await open(file, 'r');
  try {
    const st = await h.stat();
    if (!st.isFile()) throw new ImageDecodeError(file, 'not a regular file');
    if (st.size > maxBytes) throw new ImageDecodeError(file, `${st.size} bytes, more than the ${maxBytes}-byte limit`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < st.size) {
      const { bytesRead } = await h.read(buf, n, st.size - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return n === st.size ? buf : buf.subarray(0, n);
  } finally {
    await h.close();
  }
}

/** A sharp pipeline that turns any supported input into sRGB without alpha. */
export function srgbPipeline(input: string | Buffer): Sharp {
  return sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
    .rotate()
    .toColourspace('srgb')
    .removeAlpha();
}

/**
 * Decodes and resizes to exactly width x height (the poster aspect is kept by the caller's sizes).
 * With `crop`, the centre crop.width x crop.height pixels are cut out first (carpedm20's --crop),
 * clipped to the image.
 */
export async function loadRgb(
  input: string | Buffer,
  width: number,
  height: number,
  crop?: { width: number; height: number },
): Promise<RgbImage> {
  const name = typeof input === 'string' ? input : '<buffer>';
  try {
    const bytes = typeof input === 'string' ? await readImageFile(input) : input;
    let pipeline = srgbPipeline(bytes);
    if (crop) {
      const meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).rotate().metadata();
      const [w, h] =
        meta.orientation && meta.orientation >= 5 ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
      const cw = Math.min(crop.width, w);
      const ch = Math.min(crop.height, h);
      pipeline = pipeline.extract({
        left: Math.floor((w - cw) / 2),
        top: Math.floor((h - ch) / 2),
        width: cw,
        height: ch,
      });
    }
    const { data, info } = await pipeline
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(name, (err as Error).message.split('\n')[0] ?? 'unknown error');
  }
}

/** RGB bytes to floats in [-1, 1] (the DCGAN's tanh range) or [0, 1] (the classifier's). */
export function rgbToFloat(
  data: Uint8Array,
  range: 'tanh' | 'unit',
  out = new Float32Array(data.length),
  offset = 0,
): Float32Array {
  if (range === 'tanh') for (let i = 0; i < data.length; i++) out[offset + i] = data[i]! / 127.5 - 1;
  else for (let i = 0; i < data.length; i++) out[offset + i] = data[i]! / 255;
  return out;
}

/** Floats back to bytes, clamped. */
export function floatToRgb(
  data: Float32Array | ArrayLike<number>,
  range: 'tanh' | 'unit',
  offset = 0,
  length = data.length - offset,
): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const v = data[offset + i]!;
    const b = range === 'tanh' ? (v + 1) * 127.5 : v * 255;
    out[i] = b < 0 ? 0 : b > 255 ? 255 : Math.round(b);
  }
  return out;
}

export async function encodePng(img: RgbImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .png()
    .toBuffer();
}

export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .jpeg({ quality })
    .toBuffer();
}
