/**
 * prepare-dcgan throughput on the real posters (../shared/data/movie-genre) at ratio 60 with
 * --min_year=1980 --exclude_genres=Animation,Comedy, beside ImageMagick's mogrify doing the same
 * work on copies of the same files in the same run (when mogrify is installed), so the ratio
 * holds on a busy shared machine; and the same conversion through sharp alone (no libjpeg-turbo
 * fast path). Run alone: `node dist/bench/prepare-dcgan.js`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMovieCsv } from '../src/dataset/index.js';
import { converterName } from '../src/prepare/native-jpeg.js';
import { prepareDcgan } from '../src/prepare/run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SHARED = path.resolve(here, '../../../shared/data/movie-genre');
const RATIO = 60;
const PARAMS = { min_year: 1980, max_year: null, include_genres: [], exclude_genres: ['Animation', 'Comedy'], ratio: RATIO };

function hasMogrify(): boolean {
  return spawnSync('mogrify', ['-version'], { stdio: 'ignore' }).status === 0;
}

/** mogrify on copies of the same posters; seconds, or null when it is not installed. */
function timeMogrify(files: string[], work: string): number | null {
  if (!hasMogrify()) return null;
  const input = path.join(work, 'mogrify-in');
  const output = path.join(work, 'mogrify-out');
  mkdirSync(input, { recursive: true });
  mkdirSync(output, { recursive: true });
  const copies = files.map((f) => {
    const to = path.join(input, path.basename(f));
    copyFileSync(f, to);
    return to;
  });
  const start = performance.now();
  // Batches keep the argument list short; one process per batch as a user would run it.
  for (let i = 0; i < copies.length; i += 1000) {
    const r = spawnSync('mogrify', ['-path', output, '-resize', `${RATIO}%`, '-colorspace', 'sRGB', ...copies.slice(i, i + 1000)], { stdio: 'ignore' });
    if (r.status !== 0) return null;
  }
  return (performance.now() - start) / 1000;
}

export async function benchPrepareDcgan(): Promise<Record<string, unknown>[]> {
  const csv = path.join(SHARED, 'MovieGenre.csv');
  const posters = path.join(SHARED, 'posters');
  if (!existsSync(csv) || !existsSync(posters)) {
    return [{ bench: 'prepare_dcgan', skipped: `real posters not found at ${SHARED}` }];
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-prepare-dcgan-'));
  try {
    const table = readMovieCsv(csv);
    const r = await prepareDcgan({ csv, input: posters, output: path.join(work, 'out'), params: PARAMS, table, progress: false });
    const images = r.converted;
    const files = r.manifest.kept.map((k) => path.join(posters, k.file));
    const mogrifySeconds = timeMogrify(files, work);
    // The same work through sharp alone, for what the libjpeg-turbo path adds.
    const viaSharp = await prepareDcgan({ csv, input: posters, output: path.join(work, 'out-sharp'), params: PARAMS, table, progress: false, engine: 'sharp' });
    const ips = images / r.convertSeconds;
    const mips = mogrifySeconds === null ? null : files.length / mogrifySeconds;
    return [
      {
        bench: 'prepare_dcgan',
        images_per_s: Number(ips.toFixed(1)),
        mogrify_images_per_s: mips === null ? null : Number(mips.toFixed(1)),
        speedup_vs_mogrify: mips === null ? null : Number((ips / mips).toFixed(2)),
        sharp_only_images_per_s: Number((viaSharp.converted / viaSharp.convertSeconds).toFixed(1)),
        ratio: RATIO,
        images,
        engine: converterName(),
        cores: os.availableParallelism(),
      },
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const line of await benchPrepareDcgan()) process.stdout.write(JSON.stringify(line) + '\n');
}
