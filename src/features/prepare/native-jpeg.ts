/**
 * The optional libjpeg-turbo fast path (src/features/prepare/native/jpeg_resize.cc, built at `npm install` when the
 * libjpeg headers are there). Absent, broken, or switched off with POSTER_STUDIO_NATIVE_JPEG=0,
 * every poster goes through sharp instead: same output format, only slower.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeJpeg {
  /**
   * 'done' when target holds the converted poster; 'fallback' when this file needs sharp (which
   * also answers for a poster over maxPixels, with the same error as every other decode path).
   * A source that is not a regular file or is over maxBytes is refused unread.
   */
  convertFile(
    source: string,
    temp: string,
    target: string,
    width: number,
    height: number,
    quality: number,
    maxPixels: number,
    maxBytes: number,
  ): Promise<'done' | 'fallback'>;
}

let cached: NativeJpeg | null | undefined;

function repoRoot(): string {
  // dist/src/features/prepare/native-jpeg.js -> repo root (four levels up from dist/src/features/prepare).
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
}

export function loadNativeJpeg(): NativeJpeg | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.POSTER_STUDIO_NATIVE_JPEG === '0') return cached;
  const file = path.join(repoRoot(), 'build', 'Release', 'poster_studio_jpeg.node');
  if (!existsSync(file)) return cached;
  try {
    const mod = createRequire(import.meta.url)(file) as NativeJpeg;
    if (typeof mod.convertFile === 'function') cached = mod;
  } catch {
    // A stale or foreign build: sharp does the work.
  }
  return cached;
}

/** Which engine converts posters, for summaries and the benchmark. */
export function converterName(): string {
  return loadNativeJpeg() ? 'libjpeg-turbo (sharp for unusual files)' : 'sharp';
}
