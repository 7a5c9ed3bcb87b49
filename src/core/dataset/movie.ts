/** One row of MovieGenre.csv, cleaned. */
export interface Movie {
  imdbId: number;
  title: string;
  /** From the `(year)` at the end of the title; null when the title has none (TV mini-series). */
  year: number | null;
  /** IMDB score 0-10, null when the field is empty. */
  score: number | null;
  genres: string[];
  posterUrl: string | null;
  /** 1-based line of the data row in the CSV (header is line 1), for messages. */
  line: number;
}

const YEAR_AT_END = /\((\d{4})\)\s*$/;

export function yearFromTitle(title: string): number | null {
  const m = YEAR_AT_END.exec(title);
  return m ? Number(m[1]) : null;
}

/** The title as the seed prints it: `The Matrix (1999)`. */
export function displayTitle(m: Pick<Movie, 'title'>): string {
  return m.title.trim();
}
