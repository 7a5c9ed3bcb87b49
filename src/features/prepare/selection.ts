/**
 * The two poster selections of prepare-dcgan. 'strict' (ours, the default) drops a movie that
 * has any excluded genre; 'seed' is the seed's prepare_dcgan_dataset.py rule, kept so a seed user
 * can get the seed's poster set: the allowed genres are --include_genres, else the 14-genre set
 * minus --exclude_genres, a movie is kept when it has ANY allowed genre, and only "valid" movies
 * count (a year from 1900 to 2018 and at least two genres).
 */
import { GENRE_SETS, rejectReason, type Movie } from '../../core/dataset/index.js';
import type { PrepareParams } from '../../artifacts/manifest.js';

export const SELECTIONS = ['strict', 'seed'] as const;
export type SelectionRule = (typeof SELECTIONS)[number];

/** One sentence each, for --help and the README. */
export const SELECTION_HELP: Record<SelectionRule, string> = {
  strict:
    'strict (default): keep a movie that has no --exclude_genres genre and, when --include_genres is given, one of those',
  seed: "seed: the seed's rule: keep a movie with at least 2 genres, a year 1900-2018 and ANY genre of --include_genres (else of the 14-genre set minus --exclude_genres); max_year 2017 and ratio 50 by default",
};

/** The seed's defaults where the flags are not given. */
export const SEED_DEFAULTS = { max_year: 2017, ratio: 50 } as const;
export const STRICT_DEFAULTS = { max_year: null, ratio: 60 } as const;

/** The seed's `movies.list_genres(14)` minus the excluded ones, or the included ones. */
export function seedAllowedGenres(include: readonly string[], exclude: readonly string[]): string[] {
  if (include.length) return [...include];
  return GENRE_SETS[14].filter((g) => !exclude.includes(g));
}

/** Why a movie is not selected, or null when it is. */
export type Rejecter = (m: Movie) => string | null;

export function rejecter(p: PrepareParams): Rejecter {
  const years = { minYear: p.min_year ?? undefined, maxYear: p.max_year ?? undefined };
  if ((p.selection ?? 'strict') === 'strict') {
    const filter = { ...years, includeGenres: p.include_genres, excludeGenres: p.exclude_genres };
    return (m) => rejectReason(m, filter);
  }
  const allowed = seedAllowedGenres(p.include_genres, p.exclude_genres);
  return (m) => {
    if (m.year === null) return 'no year in title';
    if (m.year < 1900 || m.year > 2018) return 'not valid: year outside 1900-2018';
    if (m.genres.length < 2) return 'not valid: fewer than 2 genres';
    const y = rejectReason(m, years);
    if (y) return y;
    return m.genres.some((g) => allowed.includes(g)) ? null : 'no allowed genre';
  };
}
