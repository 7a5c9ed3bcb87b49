import { UserError } from '../errors.js';
import type { Movie } from './movie.js';

export interface MovieFilter {
  minYear?: number;
  maxYear?: number;
  /** Keep a movie that has at least one of these. */
  includeGenres?: readonly string[];
  /** Drop a movie that has any of these. */
  excludeGenres?: readonly string[];
}

export type RejectReason =
  'no year in title' | 'before min_year' | 'after max_year' | 'no included genre' | 'excluded genre';

/** Why a movie fails the filter, or null when it passes. */
export function rejectReason(m: Movie, f: MovieFilter): RejectReason | null {
  if (f.minYear !== undefined || f.maxYear !== undefined) {
    if (m.year === null) return 'no year in title';
    if (f.minYear !== undefined && m.year < f.minYear) return 'before min_year';
    if (f.maxYear !== undefined && m.year > f.maxYear) return 'after max_year';
  }
  if (f.includeGenres?.length && !m.genres.some((g) => f.includeGenres!.includes(g))) return 'no included genre';
  if (f.excludeGenres?.length && m.genres.some((g) => f.excludeGenres!.includes(g))) return 'excluded genre';
  return null;
}

export function applyFilter(movies: readonly Movie[], f: MovieFilter): Movie[] {
  return movies.filter((m) => rejectReason(m, f) === null);
}

export function checkYearRange(minYear: number | undefined, maxYear: number | undefined): void {
  if (minYear !== undefined && maxYear !== undefined && minYear > maxYear) {
    throw new UserError(
      `--min_year (${minYear}) is after --max_year (${maxYear}); pass a range with min_year <= max_year`,
    );
  }
}

export function checkGenreOverlap(include: readonly string[] = [], exclude: readonly string[] = []): void {
  const both = include.filter((g) => exclude.includes(g));
  if (both.length) {
    throw new UserError(
      `--include_genres and --exclude_genres both name ${both.join(', ')}; a genre can be in one only`,
    );
  }
}

/** Image size at the seed's ratio: a percentage (30-70) of the 182x268 poster. */
export function sizeAtRatio(ratio: number): { width: number; height: number } {
  return { width: Math.round((182 * ratio) / 100), height: Math.round((268 * ratio) / 100) };
}
