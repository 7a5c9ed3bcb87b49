import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyFilter,
  decodeCsvBytes,
  indexPosters,
  parseMovieCsv,
  readMovieCsv,
  resolveGenreSet,
  seedSplit,
  yearFromTitle,
} from '../src/core/dataset/index.js';
import { UserError } from '../src/core/errors.js';
import { SHARED_CSV, SHARED_POSTERS, sharedDataMissing } from './helpers/shared-data.js';

const HEADER = 'imdbId,Imdb Link,Title,IMDB Score,Genre,Poster\n';

test('year comes from the (year) at the end of the title', () => {
  assert.equal(yearFromTitle('The Matrix (1999)'), 1999);
  assert.equal(yearFromTitle('Merlin'), null);
  assert.equal(yearFromTitle('1984 (1984)'), 1984);
});

test('latin-1 bytes decode as latin-1, UTF-8 as UTF-8', () => {
  const latin = Buffer.from(HEADER + '1,l,Les Misérables (1995),7,Drama,\n', 'latin1');
  const utf = Buffer.from(HEADER + '1,l,Les Misérables (1995),7,Drama,\n', 'utf8');
  assert.equal(decodeCsvBytes(latin).encoding, 'latin1');
  assert.equal(decodeCsvBytes(utf).encoding, 'utf-8');
  const a = parseMovieCsv(decodeCsvBytes(latin).text);
  const b = parseMovieCsv(decodeCsvBytes(utf).text);
  assert.equal(a.movies[0]!.title, 'Les Misérables (1995)');
  assert.equal(b.movies[0]!.title, a.movies[0]!.title);
});

test('malformed rows are counted, duplicates counted once, empty fields accepted', () => {
  const csv =
    HEADER +
    '10,l,A (2001),,Action|Drama,\n' +
    'x1,l,Bad id (2001),5,Drama,\n' +
    '10,l,A (2001),,Action|Drama,\n' +
    '11,l,B,6.5,,http://e/x.jpg\n';
  const t = parseMovieCsv(csv);
  assert.equal(t.movies.length, 2);
  assert.equal(t.duplicates, 1);
  assert.equal(t.malformed.length, 1);
  assert.match(t.malformed[0]!.reason, /imdbId/);
  assert.deepEqual(t.movies[0]!.genres, ['Action', 'Drama']);
  assert.equal(t.movies[0]!.score, null);
  assert.equal(t.movies[1]!.year, null);
  assert.equal(t.movies[1]!.posterUrl, 'http://e/x.jpg');
});

test('a CSV without the required columns is a UserError naming them', () => {
  assert.throws(
    () => parseMovieCsv('id,Name\n1,x\n'),
    (e: unknown) => e instanceof UserError && /imdbId, Title, Genre/.test(e.message),
  );
});

test('seed split: id % 7 == 0 is test, every 6th of the rest is validation', () => {
  const movies = Array.from({ length: 100 }, (_, i) => ({ imdbId: i + 1 }));
  const s = seedSplit(movies);
  assert.ok(s.test.every((m) => m.imdbId % 7 === 0));
  assert.equal(s.test.length, 14);
  assert.equal(s.validation.length, Math.floor(86 / 6));
  assert.equal(s.train.length + s.validation.length + s.test.length, 100);
  assert.deepEqual(seedSplit(movies), s);
});

test('genre sets resolve by size or list, unknown names list the valid ones', () => {
  assert.equal(resolveGenreSet('7').length, 7);
  assert.deepEqual(resolveGenreSet('horror,sci-fi'), ['Horror', 'Sci-Fi']);
  assert.throws(() => resolveGenreSet('Horor'), /valid genres: Action/);
  assert.throws(() => resolveGenreSet('5'), /3, 7, 14/);
});

test('real MovieGenre.csv: row count, duplicates and year range', { skip: sharedDataMissing }, () => {
  const t = readMovieCsv(SHARED_CSV);
  assert.equal(t.encoding, 'latin1');
  assert.equal(t.rows, 37048);
  assert.equal(t.movies.length, 36477);
  const years = t.movies.map((m) => m.year).filter((y): y is number => y !== null);
  assert.equal(Math.min(...years), 1874);
  assert.equal(Math.max(...years), 2018);
  const posters = indexPosters(SHARED_POSTERS);
  assert.equal(posters.size, 6198);
  const withPoster = t.movies.filter((m) => posters.has(m.imdbId));
  assert.equal(withPoster.length, 6198);
  assert.equal(withPoster.filter((m) => m.year === null).length, 114);
  assert.equal(applyFilter(withPoster, { minYear: 1800 }).length, 6198 - 114);
});
