/**
 * The synthetic movie list: ids, titles, years, genres and scores shaped like MovieGenre.csv,
 * with the real file's quirks (accented latin-1 titles, a few titles with no year, empty scores
 * and poster URLs).
 */
import type { Rng } from '../../core/random.js';
import { GENRE_SETS } from '../../core/dataset/genres.js';
import type { Movie } from '../../core/dataset/movie.js';

/** A Movie as the CSV will hold it (no line number yet), plus how its poster is encoded. */
export interface SyntheticMovie extends Omit<Movie, 'line'> {
  grayscale: boolean;
}

/** Roughly the real data's genre frequencies among posters (Drama and Comedy lead). */
const GENRE_WEIGHTS: Record<string, number> = {
  Drama: 25,
  Comedy: 22,
  Action: 15,
  Adventure: 12,
  Romance: 12,
  Horror: 12,
  Animation: 8,
  'Sci-Fi': 10,
  Crime: 8,
  Mystery: 8,
  Thriller: 9,
  War: 3,
  Family: 8,
  Western: 3,
};

const WORDS = [
  'Night',
  'Shadow',
  'River',
  'Last',
  'Summer',
  'Empire',
  'Heart',
  'Storm',
  'Secret',
  'Road',
  'Star',
  'Silent',
  'Golden',
  'Dark',
  'City',
  'Dream',
  'Wild',
  'Lost',
  'Iron',
  'Blue',
  'Café',
  'Señor',
  'Über',
  'Mañana',
  'Noël',
  'Élan',
  'Crème',
  'Niño',
  'Fiancée',
  'Déjà',
];

function pickWeighted(rng: Rng, entries: [string, number][]): string {
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let r = rng.next() * total;
  for (const [name, w] of entries) {
    r -= w;
    if (r < 0) return name;
  }
  return entries[entries.length - 1]![0];
}

function pickGenres(rng: Rng): string[] {
  const pool: [string, number][] = GENRE_SETS[14].map((g) => [g, GENRE_WEIGHTS[g] ?? 1]);
  const n = rng.next() < 0.45 ? 1 : rng.next() < 0.7 ? 2 : 3;
  const out: string[] = [];
  while (out.length < n) {
    const g = pickWeighted(
      rng,
      pool.filter(([name]) => !out.includes(name)),
    );
    out.push(g);
  }
  return out;
}

function makeTitle(rng: Rng): string {
  const n = 1 + rng.int(3);
  const words = Array.from({ length: n }, () => WORDS[rng.int(WORDS.length)]!);
  // A comma now and then exercises the CSV quoting.
  if (n >= 2 && rng.next() < 0.08) words[0] += ',';
  return (rng.next() < 0.3 ? 'The ' : '') + words.join(' ');
}

export function buildCatalog(count: number, rng: Rng): SyntheticMovie[] {
  const movies: SyntheticMovie[] = [];
  for (let i = 0; i < count; i++) {
    // One id per bucket of 13 keeps ids unique while imdbId % 7 still varies freely.
    const imdbId = 1_000_000 + i * 13 + rng.int(13);
    const noYear = rng.next() < 0.02;
    const year = noYear ? null : 1950 + rng.int(68);
    const title = makeTitle(rng) + (year === null ? '' : ` (${year})`);
    const score = rng.next() < 0.15 ? null : Math.round((3 + rng.next() * 6) * 10) / 10;
    const posterUrl = rng.next() < 0.25 ? null : `https://posters.example.invalid/${imdbId}.jpg`;
    movies.push({ imdbId, title, year, score, genres: pickGenres(rng), posterUrl, grayscale: rng.next() < 0.01 });
  }
  return movies;
}

const csvField = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** MovieGenre.csv text in the Kaggle column order. */
export function catalogCsv(movies: readonly SyntheticMovie[]): string {
  const lines = ['imdbId,Imdb Link,Title,IMDB Score,Genre,Poster'];
  for (const m of movies) {
    lines.push(
      [
        String(m.imdbId),
        `http://www.imdb.com/title/tt${m.imdbId}`,
        csvField(m.title),
        m.score === null ? '' : m.score.toFixed(1),
        m.genres.join('|'),
        m.posterUrl ?? '',
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}
