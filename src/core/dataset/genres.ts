import { UserError } from '../errors.js';

/** The seed's genre sets, in the seed's order: 3 = the big three, 7 and 14 add the next ones. */
export const GENRE_SETS = {
  3: ['Comedy', 'Drama', 'Action'],
  7: ['Comedy', 'Drama', 'Action', 'Animation', 'Romance', 'Adventure', 'Horror'],
  14: [
    'Comedy',
    'Drama',
    'Action',
    'Animation',
    'Romance',
    'Adventure',
    'Horror',
    'Sci-Fi',
    'Crime',
    'Mystery',
    'Thriller',
    'War',
    'Family',
    'Western',
  ],
} as const;

/** Every genre name that occurs in MovieGenre.csv. */
export const KNOWN_GENRES = [
  'Action',
  'Adult',
  'Adventure',
  'Animation',
  'Biography',
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Family',
  'Fantasy',
  'Film-Noir',
  'Game-Show',
  'History',
  'Horror',
  'Music',
  'Musical',
  'Mystery',
  'News',
  'Reality-TV',
  'Romance',
  'Sci-Fi',
  'Short',
  'Sport',
  'Talk-Show',
  'Thriller',
  'War',
  'Western',
] as const;

const byLowerCase = new Map(KNOWN_GENRES.map((g) => [g.toLowerCase(), g as string]));

/** Canonical spelling of a genre name (case-insensitive), or a UserError listing the valid ones. */
export function canonicalGenre(name: string, flag = '--genres'): string {
  const found = byLowerCase.get(name.trim().toLowerCase());
  if (!found) {
    throw new UserError(`${flag}: unknown genre '${name}'; valid genres: ${KNOWN_GENRES.join(', ')}`);
  }
  return found;
}

export function canonicalGenres(names: readonly string[], flag = '--genres'): string[] {
  return [...new Set(names.map((n) => canonicalGenre(n, flag)))];
}

/**
 * Resolves `--genres`: a set size (3, 7, 14) or a comma-separated custom list.
 */
export function resolveGenreSet(spec: string | number, flag = '--genres'): string[] {
  const s = String(spec).trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s) as keyof typeof GENRE_SETS;
    const set = GENRE_SETS[n];
    if (!set) throw new UserError(`${flag} takes 3, 7, 14 or a comma-separated list of genres, got '${s}'`);
    return [...set];
  }
  const list = canonicalGenres(
    s.split(',').filter((x) => x.trim() !== ''),
    flag,
  );
  if (list.length === 0) throw new UserError(`${flag} needs at least one genre`);
  return list;
}
