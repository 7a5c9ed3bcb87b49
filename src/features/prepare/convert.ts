/**
 * One poster to the DCGAN format: sRGB, 3 channels, exactly width x height, JPEG quality 95.
 *
 * Speed: a 182x268 poster is tiny, so with sharp a conversion is mostly libvips pipeline set-up
 * and thread hand-offs, not pixels (~200-300 posters/s here, whatever the settings). Plain JPEGs
 * (all the real posters) therefore go through a libjpeg-turbo addon that scales in the DCT
 * domain on load (src/features/prepare/native/jpeg_resize.cc, ~2x faster); sharp remains the path for everything else
 * (CMYK, ICC profiles, EXIF orientation, PNG, damaged files) and when the addon is not built.
 * Both run on libuv's pool, so a few conversions in flight keep both cores busy.
 */
import { rename, rm } from 'node:fs/promises';
import os from 'node:os';
import sharp from 'sharp';
import { tempPathFor } from '../../core/fs/atomic.js';
import { MAX_IMAGE_BYTES, MAX_INPUT_PIXELS, readImageFile, srgbPipeline } from '../../core/images/decode.js';
import { loadNativeJpeg } from './native-jpeg.js';

export const JPEG_QUALITY = 95;

/** Pipelines in flight: enough to hide I/O and hand-offs, few enough to stay in the threadpool. */
export function defaultConcurrency(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(2, Math.min(8, 2 * cores));
}

/**
 * Converts `source` into `target` through a temp name and a rename, so a killed run never leaves
 * a partial JPEG under a poster's name. No fsync: a torn file after a power loss lacks its EOI
 * marker, and the next run's check (jpeg-check.ts) redoes it.
 */
export async function convertPoster(
  source: string,
  target: string,
  width: number,
  height: number,
  engine: 'auto' | 'sharp' = 'auto',
): Promise<void> {
  const tmp = tempPathFor(target);
  const native = engine === 'auto' ? loadNativeJpeg() : null;
  if (
    native &&
    (await native.convertFile(source, tmp, target, width, height, JPEG_QUALITY, MAX_INPUT_PIXELS, MAX_IMAGE_BYTES)) ===
      'done'
  )
    return;
  try {
    const info = await srgbPipeline(await readImageFile(source))
      .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
      .jpeg({ quality: JPEG_QUALITY })
      .toFile(tmp);
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** One libvips thread per pipeline: parallelism comes from running pipelines side by side. */
export function tuneSharpForSmallImages(): void {
  sharp.concurrency(1);
  // The operation cache only helps when the same file is read twice; here it costs memory.
  sharp.cache(false);
}
