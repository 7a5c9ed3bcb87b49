/**
 * prepare-dcgan throughput on the real posters (../shared/data/movie-genre) at ratio 60 with
 * --min_year=1980 --exclude_genres=Animation,Comedy, beside ImageMagick's mogrify doing the same
 * work on copies of the same files in the same run (when mogrify is installed), so the ratio
 * holds on a busy shared machine; and the same conversion through sharp alone (no libjpeg-turbo
 * fast path). Best of two alternating rounds. Run alone: `node dist/bench/prepare-dcgan.js`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMovieCsv } from '../src/core/dataset/index.js';
import { converterName } from '../src/features/prepare/native-jpeg.js';
import { prepareDcgan } from '../src/features/prepare/run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SHARED = path.resolve(here, '../../../shared/data/movie-genre');
const RATIO = 60;
const ROUNDS = 2;
const PARAMS = {
  min_year: 1980,
  max_year: null,
  include_genres: [],
  exclude_genres: ['Animation', 'Comedy'],
  ratio: RATIO,
};

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
    const r = spawnSync(
      'mogrify',
      ['-path', output, '-resize', `${RATIO}%`, '-colorspace', 'sRGB', ...copies.slice(i, i + 1000)],
      { stdio: 'ignore' },
    );
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
    // Alternating rounds, best of each: on a shared machine the load drifts within a minute, and
    // alternation exposes both tools to the same drift.
    let best = 0;
    let bestMogrify: number | null = null;
    let images = 0;
    let bestSharp = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const r = await prepareDcgan({
        csv,
        input: posters,
        output: path.join(work, `out${round}`),
        params: PARAMS,
        table,
        progress: false,
      });
      images = r.converted;
      best = Math.max(best, r.converted / r.convertSeconds);
      const files = r.manifest.kept.map((k) => path.join(posters, k.file));
      const seconds = timeMogrify(files, path.join(work, `mogrify${round}`));
      if (seconds !== null) bestMogrify = Math.max(bestMogrify ?? 0, files.length / seconds);
      // The same work through sharp alone, for what the libjpeg-turbo path adds.
      const viaSharp = await prepareDcgan({
        csv,
        input: posters,
        output: path.join(work, `sharp${round}`),
        params: PARAMS,
        table,
        progress: false,
        engine: 'sharp',
      });
      bestSharp = Math.max(bestSharp, viaSharp.converted / viaSharp.convertSeconds);
      // Free the disk between rounds.
      for (const d of [`out${round}`, `mogrify${round}`, `sharp${round}`])
        rmSync(path.join(work, d), { recursive: true, force: true });
    }
    return [
      {
        bench: 'prepare_dcgan',
        images_per_s: Number(best.toFixed(1)),
        mogrify_images_per_s: bestMogrify === null ? null : Number(bestMogrify.toFixed(1)),
        speedup_vs_mogrify: bestMogrify === null ? null : Number((best / bestMogrify).toFixed(2)),
        sharp_only_images_per_s: Number(bestSharp.toFixed(1)),
        ratio: RATIO,
        images,
        rounds: ROUNDS,
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
