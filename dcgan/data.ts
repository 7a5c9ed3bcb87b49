/**
 * The training set: the directory `prepare-dcgan` writes (manifest.json + sRGB JPEGs), or any
 * folder of images as the fork and other GAN tools take (no manifest: every file matching the
 * pattern), decoded once at the training size and kept as bytes (a quarter of the memory of
 * floats); each batch is converted to [-1, 1] when it is drawn.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import sharp from 'sharp';
import { UserError } from '../src/core/errors.js';
import { loadRgb, rgbToFloat } from '../src/core/images/decode.js';
import { createProgress } from '../src/core/progress.js';
import { type KeptPoster, type Manifest, manifestPath, readManifest } from '../src/artifacts/manifest.js';
import type { ConditionVocab } from './config.js';

export interface TrainingSet {
  dir: string;
  width: number;
  height: number;
  entries: KeptPoster[];
  /** One image after another, width*height*3 bytes each. */
  pixels: Uint8Array;
  skipped: { file: string; reason: string }[];
}

/** carpedm20's --input_fname_pattern; ours takes the common image types by default. */
export const DEFAULT_PATTERN = '*.{jpg,jpeg,png,webp}';

/** How the images are read: which files, and carpedm20's centre crop before the resize. */
export interface SourceOptions {
  pattern?: string;
  crop?: { width: number; height: number } | null;
}

/** A folder without manifest.json: every matching file, sorted, as an entry with no metadata. */
async function folderEntries(dir: string, pattern: string): Promise<KeptPoster[]> {
  const match = picomatch(pattern, { nocase: true });
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    throw new UserError(`--input: ${dir} is not a readable directory`);
  }
  const files = names.filter((n) => match(n)).sort();
  if (!files.length)
    throw new UserError(`--input: ${dir} has no manifest.json and no file matching --input_fname_pattern '${pattern}'`);
  return files.map((file) => ({
    imdbId: Number(/^(\d+)\./.exec(file)?.[1] ?? NaN),
    file,
    title: '',
    year: null,
    genres: [],
  }));
}

/** The manifest's posters (filtered by the pattern when one is given), else the folder's images. */
export async function listSource(
  dir: string,
  pattern?: string,
): Promise<{ entries: KeptPoster[]; manifest: Manifest | null }> {
  if (!existsSync(manifestPath(dir)))
    return { entries: await folderEntries(dir, pattern ?? DEFAULT_PATTERN), manifest: null };
  const manifest = await readManifest(dir);
  if (manifest.kept.length === 0)
    throw new UserError(`${manifestPath(dir)} lists no posters (kept is empty); loosen the prepare-dcgan filters`);
  if (!pattern) return { entries: manifest.kept, manifest };
  const match = picomatch(pattern, { nocase: true });
  const entries = manifest.kept.filter((e) => match(path.basename(e.file)));
  if (!entries.length)
    throw new UserError(
      `--input_fname_pattern '${pattern}' matches none of the ${manifest.kept.length} posters of ${manifestPath(dir)}`,
    );
  return { entries, manifest };
}

/** The size of the set's images: the manifest's, else the first readable image's (the fork's default). */
export async function sourceImageSize(dir: string, pattern?: string): Promise<{ width: number; height: number }> {
  const { entries, manifest } = await listSource(dir, pattern);
  if (manifest?.size) return manifest.size;
  for (const e of entries) {
    const meta = await sharp(path.join(dir, e.file))
      .metadata()
      .catch(() => null);
    if (meta?.width && meta.height) return { width: meta.width, height: meta.height };
  }
  throw new UserError(`--input: none of the ${entries.length} files in ${dir} is a readable image`);
}

/** Decodes every poster at width x height; unreadable files are skipped and counted, not fatal. */
export async function loadTrainingSet(
  dir: string,
  width: number,
  height: number,
  minCount: number,
  quiet = false,
  source: SourceOptions = {},
): Promise<TrainingSet> {
  const manifest = { kept: (await listSource(dir, source.pattern)).entries };
  const per = width * height * 3;
  const pixels = new Uint8Array(manifest.kept.length * per);
  const entries: KeptPoster[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const progress = quiet
    ? { update: () => undefined, stop: () => undefined }
    : createProgress('loading posters', manifest.kept.length);
  let done = 0;
  const queue = [...manifest.kept];
  // A few decodes in flight keep libvips busy without holding every file in memory.
  const results: (Uint8Array | null)[] = new Array(queue.length).fill(null);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < queue.length) {
        const i = next++;
        const e = queue[i]!;
        try {
          results[i] = (await loadRgb(path.join(dir, e.file), width, height, source.crop ?? undefined)).data;
        } catch (err) {
          skipped.push({ file: e.file, reason: (err as Error).message });
        }
        progress.update(++done);
      }
    }),
  );
  progress.stop();
  results.forEach((r, i) => {
    if (!r) return;
    pixels.set(r, entries.length * per);
    entries.push(queue[i]!);
  });
  if (entries.length < minCount) {
    throw new UserError(
      `${dir} has ${entries.length} readable images${skipped.length ? ` (${skipped.length} unreadable skipped)` : ''} but one batch needs ${minCount} (--batch_size, else grid_height x grid_width); add images or use a smaller batch`,
    );
  }
  return { dir, width, height, entries, pixels: pixels.subarray(0, entries.length * per), skipped };
}

/** Batch of images as NHWC floats in [-1, 1]. */
export function batchPixels(set: TrainingSet, indices: readonly number[]): Float32Array {
  const per = set.width * set.height * 3;
  const out = new Float32Array(indices.length * per);
  indices.forEach((idx, k) => rgbToFloat(set.pixels.subarray(idx * per, (idx + 1) * per), 'tanh', out, k * per));
  return out;
}

/** Genres seen at least `minCount` times (most frequent first) and the decades present. */
export function conditionVocab(entries: readonly KeptPoster[], minCount = 20): ConditionVocab {
  const counts = new Map<string, number>();
  const decades = new Set<number>();
  for (const e of entries) {
    for (const g of e.genres) counts.set(g, (counts.get(g) ?? 0) + 1);
    if (e.year !== null) decades.add(Math.floor(e.year / 10) * 10);
  }
  const total = entries.length;
  const floor = Math.min(minCount, Math.max(1, Math.floor(total / 10)));
  const genres = [...counts.entries()]
    .filter(([, n]) => n >= floor)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([g]) => g);
  return { genres, decades: [...decades].sort((a, b) => a - b) };
}

/** Condition vector of one poster: multi-hot genres, then a one-hot decade (all zero if unknown). */
export function encodeCondition(
  vocab: ConditionVocab,
  genres: readonly string[],
  year: number | null,
  out: Float32Array,
  offset: number,
): void {
  for (const g of genres) {
    const i = vocab.genres.indexOf(g);
    if (i >= 0) out[offset + i] = 1;
  }
  if (year !== null) {
    const j = vocab.decades.indexOf(Math.floor(year / 10) * 10);
    if (j >= 0) out[offset + vocab.genres.length + j] = 1;
  }
}
