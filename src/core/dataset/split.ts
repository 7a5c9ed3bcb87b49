import type { Movie } from './movie.js';

export type SplitName = 'train' | 'validation' | 'test';

export interface Split<T extends Pick<Movie, 'imdbId'> = Movie> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * The seed's split: imdbId % 7 == 0 is test; of the rest, taken in order, every 6th movie is
 * validation. It depends only on the ids and their order, so every command sees the same split.
 */
export function seedSplit<T extends Pick<Movie, 'imdbId'>>(movies: readonly T[]): Split<T> {
  const out: Split<T> = { train: [], validation: [], test: [] };
  let rest = 0;
  for (const m of movies) {
    if (m.imdbId % 7 === 0) {
      out.test.push(m);
      continue;
    }
    rest++;
    (rest % 6 === 0 ? out.validation : out.train).push(m);
  }
  return out;
}
