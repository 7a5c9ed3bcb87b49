/**
 * `prepare-dcgan`: the DCGAN training set from the posters: filter by year and genre, convert to
 * sRGB at the chosen ratio, and write <output>/<imdbId>.jpg plus manifest.json (what was kept,
 * what was skipped and why). Re-running with the same flags redoes nothing.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { canonicalGenres, checkGenreOverlap, checkYearRange } from '../../src/core/dataset/index.js';
import { DEFAULT_CSV, DEFAULT_DCGAN_DATA, DEFAULT_POSTERS } from '../../src/core/paths.js';
import { countReasons, isPosterProblem, manifestPath } from '../../src/artifacts/manifest.js';
import { formatSkipped } from '../../src/core/skipped.js';
import { withLocks } from '../../src/core/fs/lock.js';
import { prepareDcgan } from '../../src/features/prepare/run.js';
import {
  SEED_DEFAULTS,
  SELECTIONS,
  SELECTION_HELP,
  STRICT_DEFAULTS,
  type SelectionRule,
} from '../../src/features/prepare/selection.js';

export const prepareDcganFlags = defineFlags({
  min_year: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'keep movies from this year on' },
  max_year: {
    kind: 'int',
    min: 1800,
    max: 2100,
    arg: 'year',
    help: 'keep movies up to this year (default: none; 2017 with --selection=seed)',
  },
  include_genres: {
    kind: 'list',
    default: [],
    arg: 'genres',
    help: 'keep only movies with at least one of these genres (comma-separated)',
  },
  exclude_genres: {
    kind: 'list',
    default: [],
    arg: 'genres',
    help: 'genres to leave out (comma-separated); what that means depends on --selection',
  },
  selection: {
    kind: 'string',
    default: 'strict',
    choices: SELECTIONS,
    help: `which rule picks the posters. ${SELECTION_HELP.strict}. ${SELECTION_HELP.seed}`,
  },
  ratio: {
    kind: 'int',
    min: 30,
    max: 70,
    arg: 'percent',
    help: 'output size as a percentage of 182x268 (60 gives 109x161; default 60, 50 with --selection=seed)',
  },
  input: { kind: 'path', default: DEFAULT_POSTERS, exists: 'dir', help: 'poster directory (<imdbId>.jpg)' },
  output: { kind: 'path', default: DEFAULT_DCGAN_DATA, help: 'where the training set and manifest.json go' },
  csv: { kind: 'path', default: DEFAULT_CSV, exists: 'file', help: 'MovieGenre.csv (ISO-8859-1 or UTF-8)' },
  concurrency: {
    kind: 'int',
    min: 1,
    max: 64,
    arg: 'n',
    help: 'conversions in flight (default: 2 x cores, at most 8)',
  },
});

export function configurePrepareDcgan(cmd: Command): Command {
  addFlags(cmd, prepareDcganFlags).action(async () => {
    const o = readFlags(cmd, prepareDcganFlags);
    checkYearRange(o.min_year, o.max_year);
    const include = canonicalGenres(o.include_genres, '--include_genres');
    const exclude = canonicalGenres(o.exclude_genres, '--exclude_genres');
    checkGenreOverlap(include, exclude);
    const selection = o.selection as SelectionRule;
    const defaults = selection === 'seed' ? SEED_DEFAULTS : STRICT_DEFAULTS;
    if (selection === 'seed' && include.length && exclude.length) {
      process.stderr.write(
        "note: with --selection=seed, --exclude_genres is ignored when --include_genres is given (the seed's rule)\n",
      );
    }
    if (path.resolve(o.output) === path.resolve(o.input)) {
      throw new UserError(
        `--output ${o.output} is the poster directory itself; choose another directory (prepare-dcgan removes files it did not keep)`,
      );
    }
    const r = await withLocks([{ path: o.output, kind: 'dir' }], 'prepare-dcgan', () =>
      prepareDcgan({
        csv: o.csv,
        input: o.input,
        output: o.output,
        concurrency: o.concurrency,
        params: {
          min_year: o.min_year ?? null,
          max_year: o.max_year ?? defaults.max_year,
          include_genres: include,
          exclude_genres: exclude,
          ratio: o.ratio ?? defaults.ratio,
          selection,
        },
      }),
    );
    const m = r.manifest;
    const reasons = countReasons(m.skipped)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const rate = r.converted > 0 ? ` (${Math.round(r.converted / r.convertSeconds)} images/s converting)` : '';
    process.stdout.write(
      `prepare-dcgan: kept ${m.kept.length} (${r.converted} converted, ${r.reused} already done${r.removed ? `, ${r.removed} old removed` : ''}) at ${m.size.width}x${m.size.height} (${selection} selection)` +
        `; skipped ${m.skipped.length}${reasons ? ` (${reasons})` : ''}; ${r.seconds.toFixed(1)} s${rate}\n` +
        `manifest: ${manifestPath(o.output)}\n`,
    );
    const problems = m.skipped.filter(isPosterProblem).map((s) => ({ file: s.file!, reason: s.reason }));
    for (const l of formatSkipped(problems, 'prepare-dcgan', `${manifestPath(o.output)} ("skipped")`))
      process.stderr.write(l + '\n');
  });
  return cmd;
}
