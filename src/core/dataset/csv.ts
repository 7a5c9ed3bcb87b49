/**
 * MovieGenre.csv: the Kaggle file is ISO-8859-1 (some copies are UTF-8); rows can be malformed,
 * imdbIds repeat. Malformed rows are counted with a reason, never fatal; a repeated imdbId keeps
 * its first row, so a movie counts once.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { UserError } from '../errors.js';
import { type Movie, yearFromTitle } from './movie.js';

export const REQUIRED_COLUMNS = ['imdbId', 'Title', 'Genre'] as const;

export interface MalformedRow {
  line: number;
  reason: string;
}

export interface MovieTable {
  movies: Movie[];
  byId: Map<number, Movie>;
  encoding: 'utf-8' | 'latin1';
  malformed: MalformedRow[];
  duplicates: number;
  /** Data rows read (movies + malformed + duplicates). */
  rows: number;
}

/** UTF-8 when the bytes are valid UTF-8, else ISO-8859-1 (every byte sequence is valid latin-1). */
export function decodeCsvBytes(bytes: Uint8Array): { text: string; encoding: 'utf-8' | 'latin1' } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { text: text.replace(/^\uFEFF/, ''), encoding: 'utf-8' };
  } catch {
    return { text: Buffer.from(bytes).toString('latin1'), encoding: 'latin1' };
  }
}

export function parseMovieCsv(text: string, encoding: 'utf-8' | 'latin1' = 'utf-8', source = 'CSV'): MovieTable {
  const malformed: MalformedRow[] = [];
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const header = (parse(firstLine, { relax_quotes: true }) as string[][])[0] ?? [];
  const missing = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) {
    throw new UserError(
      `${source}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; a MovieGenre.csv header is imdbId,Imdb Link,Title,IMDB Score,Genre,Poster`,
    );
  }
  const records = parse(text, {
    columns: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_records_with_error: true,
    info: true,
    on_skip: (err: { message: string; lines?: number } | undefined) => {
      if (err) malformed.push({ line: err.lines ?? 0, reason: err.message.split('\n')[0] ?? 'unparsable row' });
    },
  }) as { record: Record<string, string | undefined>; info: { lines: number } }[];

  const movies: Movie[] = [];
  const byId = new Map<number, Movie>();
  let duplicates = 0;
  for (const { record, info } of records) {
    const line = info.lines;
    const idText = (record.imdbId ?? '').trim();
    if (!/^\d+$/.test(idText)) {
      malformed.push({ line, reason: `imdbId '${idText}' is not a number` });
      continue;
    }
    const title = (record.Title ?? '').trim();
    if (!title) {
      malformed.push({ line, reason: 'empty Title' });
      continue;
    }
    const imdbId = Number(idText);
    // Past 2^53 two different ids would read as the same number; real imdbIds are 7-8 digits.
    if (!Number.isSafeInteger(imdbId)) {
      malformed.push({ line, reason: `imdbId '${idText}' is too large (at most ${Number.MAX_SAFE_INTEGER})` });
      continue;
    }
    if (byId.has(imdbId)) {
      duplicates++;
      continue;
    }
    const scoreText = (record['IMDB Score'] ?? '').trim();
    const score = scoreText === '' ? null : Number(scoreText);
    const genres = (record.Genre ?? '')
      .split('|')
      .map((g) => g.trim())
      .filter(Boolean);
    const poster = (record.Poster ?? '').trim();
    const movie: Movie = {
      imdbId,
      title,
      year: yearFromTitle(title),
      score: score !== null && Number.isFinite(score) && score >= 0 && score <= 10 ? score : null,
      genres,
      posterUrl: poster === '' ? null : poster,
      line,
    };
    movies.push(movie);
    byId.set(imdbId, movie);
  }
  return { movies, byId, encoding, malformed, duplicates, rows: movies.length + malformed.length + duplicates };
}

export function readMovieCsv(file: string): MovieTable {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `${file}: no such file; pass --csv <MovieGenre.csv> or run 'poster-studio synth'`
        : `${file}: cannot read (${code})`,
    );
  }
  const { text, encoding } = decodeCsvBytes(bytes);
  return parseMovieCsv(text, encoding, file);
}

/** One line for the user: what was read and what was set aside. */
export function describeTable(t: MovieTable, file: string): string {
  const parts = [`${t.movies.length} movies from ${file} (${t.encoding})`];
  if (t.duplicates) parts.push(`${t.duplicates} repeated imdbIds counted once`);
  if (t.malformed.length) {
    const first = t.malformed[0]!;
    parts.push(`${t.malformed.length} malformed rows skipped (first: line ${first.line}, ${first.reason})`);
  }
  return parts.join('; ');
}
