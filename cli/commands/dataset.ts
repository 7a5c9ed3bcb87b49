/**
 * `poster-studio dataset`: what a CSV and a poster directory hold after the filters, per split
 * and per genre. A quick look before a long training run.
 */
import type { Command } from 'commander';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import {
  applyFilter,
  checkYearRange,
  describeTable,
  indexPosters,
  readMovieCsv,
  resolveGenreSet,
  seedSplit,
} from '../../src/core/dataset/index.js';
import { DEFAULT_CSV, DEFAULT_POSTERS } from '../../src/core/paths.js';

export const datasetFlags = defineFlags({
  csv: { kind: 'path', default: DEFAULT_CSV, exists: 'file', help: 'MovieGenre.csv (ISO-8859-1 or UTF-8)' },
  data: { kind: 'path', default: DEFAULT_POSTERS, exists: 'dir', help: 'poster directory (<imdbId>.jpg)' },
  genres: { kind: 'string', default: '7', arg: 'set', help: 'genre set: 3, 7, 14 or a comma-separated list' },
  min_year: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'keep movies from this year on' },
  max_year: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'keep movies up to this year' },
  json: { kind: 'bool', default: false, help: 'print JSON instead of a table' },
});

export function configureDataset(cmd: Command): Command {
  addFlags(cmd, datasetFlags).action(async () => {
    const o = readFlags(cmd, datasetFlags);
    checkYearRange(o.min_year, o.max_year);
    const genres = resolveGenreSet(o.genres);
    const table = readMovieCsv(o.csv);
    const posters = indexPosters(o.data);
    const movies = applyFilter(table.movies, { minYear: o.min_year, maxYear: o.max_year }).filter((m) =>
      posters.has(m.imdbId),
    );
    const split = seedSplit(movies);
    const counts = Object.fromEntries(
      (['train', 'validation', 'test'] as const).map((s) => [
        s,
        {
          movies: split[s].length,
          ...Object.fromEntries(genres.map((g) => [g, split[s].filter((m) => m.genres.includes(g)).length])),
        },
      ]),
    );
    if (o.json) {
      process.stdout.write(JSON.stringify({ csv: o.csv, data: o.data, genres, counts }, null, 2) + '\n');
      return;
    }
    process.stderr.write(describeTable(table, o.csv) + '\n');
    process.stdout.write(`${movies.length} movies with a poster in ${o.data}\n`);
    console.table(counts);
  });
  return cmd;
}
