/**
 * Which posters go into the DCGAN set: every poster file in the input directory, matched to its
 * CSV row, through the dataset filters. Each poster ends up either kept or skipped with a reason;
 * CSV movies that pass the filters but have no poster are listed too, so the manifest explains
 * every gap.
 */
import type { Movie, MovieTable } from '../../core/dataset/index.js';
import type { SkippedPoster } from '../../artifacts/manifest.js';
import type { Rejecter } from './selection.js';

export interface Selected {
  movie: Movie;
  source: string;
}

export interface Selection {
  selected: Selected[];
  skipped: SkippedPoster[];
}

export function selectPosters(table: MovieTable, posters: Map<number, string>, reject: Rejecter): Selection {
  const selected: Selected[] = [];
  const skipped: SkippedPoster[] = [];
  for (const [imdbId, source] of posters) {
    const movie = table.byId.get(imdbId);
    if (!movie) {
      skipped.push({ imdbId, file: source, reason: 'not in CSV' });
      continue;
    }
    const reason = reject(movie);
    if (reason) skipped.push({ imdbId, file: source, reason });
    else selected.push({ movie, source });
  }
  for (const movie of table.movies) {
    if (!posters.has(movie.imdbId) && reject(movie) === null) {
      skipped.push({ imdbId: movie.imdbId, reason: 'no poster' });
    }
  }
  selected.sort((a, b) => a.movie.imdbId - b.movie.imdbId);
  skipped.sort((a, b) => a.imdbId - b.imdbId);
  return { selected, skipped };
}
