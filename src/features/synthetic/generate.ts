/**
 * Writes the synthetic poster set: <out>/posters/<imdbId>.jpg and <out>/MovieGenre.csv
 * (ISO-8859-1, like the Kaggle file). Re-running with the same seed rewrites nothing: a poster
 * whose bytes are already there is left alone, and the CSV goes last, atomically.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../../core/fs/atomic.js';
import { foreignFilesError, OwnedDir } from '../../core/fs/ownership.js';
import { readImageFile } from '../../core/images/decode.js';
import { mapLimit } from '../../core/map-limit.js';
import { createRng } from '../../core/random.js';
import { buildCatalog, catalogCsv, type SyntheticMovie } from './catalog.js';
import { paintPoster } from './painter.js';

export interface SynthOptions {
  count: number;
  seed: number;
  width?: number;
  height?: number;
  onPoster?: (done: number) => void;
}

export interface SynthResult {
  csv: string;
  posters: string;
  written: number;
  unchanged: number;
  movies: SyntheticMovie[];
}

export async function renderPoster(m: SyntheticMovie, seed: number, width = 182, height = 268): Promise<Buffer> {
  // One stream per poster: its pixels do not depend on the order or concurrency of the others.
  const cv = paintPoster({ genres: m.genres, year: m.year }, createRng(seed, `poster:${m.imdbId}`), width, height);
  let img = sharp(Buffer.from(cv.data.buffer, cv.data.byteOffset, cv.data.length), {
    raw: { width, height, channels: 3 },
  });
  if (m.grayscale) img = img.toColourspace('b-w');
  return img.jpeg({ quality: 90 }).toBuffer();
}

async function sameBytes(file: string, bytes: Buffer): Promise<boolean> {
  try {
    return (await readImageFile(file, bytes.length)).equals(bytes);
  } catch {
    return false;
  }
}

export async function writeSyntheticSet(outDir: string, o: SynthOptions): Promise<SynthResult> {
  const posters = path.join(outDir, 'posters');
  const movies = buildCatalog(o.count, createRng(o.seed, 'catalog'));
  // Someone else's file under one of our names stays as it is: the set is refused unless it
  // already holds exactly what synth would write there.
  const out = await OwnedDir.open(outDir);
  const own = await OwnedDir.open(posters);
  const byName = new Map(movies.map((m) => [`${m.imdbId}.jpg`, m]));
  const clash = await out.foreign(['MovieGenre.csv']);
  const theirs = new Set(await own.foreign([...byName.keys()]));
  for (const name of theirs) {
    if (!(await sameBytes(path.join(posters, name), await renderPoster(byName.get(name)!, o.seed, o.width, o.height))))
      clash.push(`posters/${name}`);
  }
  if (clash.length)
    throw foreignFilesError(
      outDir,
      clash,
      'synth',
      'MovieGenre.csv and posters/<imdbId>.jpg',
      'move them away or choose another --output',
    );
  await out.claim(['MovieGenre.csv', 'posters']);
  await own.claim([...byName.keys()].filter((n) => !theirs.has(n)));
  await fs.mkdir(posters, { recursive: true });
  let written = 0;
  let unchanged = 0;
  // sharp encodes on libuv's pool: a few in flight keep both cores busy.
  await mapLimit(movies, 4, async (m) => {
    const bytes = await renderPoster(m, o.seed, o.width, o.height);
    const file = path.join(posters, `${m.imdbId}.jpg`);
    if (await sameBytes(file, bytes)) unchanged++;
    else {
      await writeFileAtomic(file, bytes);
      written++;
    }
    o.onPoster?.(written + unchanged);
  });
  const csv = path.join(outDir, 'MovieGenre.csv');
  await writeFileAtomic(csv, Buffer.from(catalogCsv(movies), 'latin1'));
  return { csv, posters, written, unchanged, movies };
}
