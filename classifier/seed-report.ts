/**
 * The seed's tests.py output: for each saved model, its evaluation and the predictions of a few
 * named test movies in aligned columns, right genres marked [o] and wrong ones [!]. The names
 * are the movies the seed's README shows; a data set without them (the synthetic one) shows the
 * first movies of the split instead.
 */
import { displayTitle } from '../src/core/dataset/index.js';
import type { Example } from './data.js';
import { formatPrediction, titleWidth, type Prediction } from './predict.js';
import type { Classifier } from '../src/artifacts/classifier-model.js';
import { predictBytes } from './inference.js';

export const SEED_TEST_MOVIES = [
  'The Matrix',
  'The Others',
  'Alien: Resurrection',
  'The Martian',
  'The Truman Show',
  'Pretty Woman',
  'Whatever Works',
  "Bienvenue chez les Ch'tis",
  'Paprika',
  'Spirited Away',
  'Castle in the Sky',
  'Zootopia',
] as const;

const bareTitle = (t: string): string =>
  t
    .replace(/\s*\(\d{4}\)\s*$/, '')
    .trim()
    .toLowerCase();

/** The named movies found among the examples, then the first others, up to `count`. */
export function pickTestMovies(examples: readonly Example[], count = SEED_TEST_MOVIES.length): Example[] {
  const named = SEED_TEST_MOVIES.map((t) => examples.find((e) => bareTitle(e.movie.title) === t.toLowerCase())).filter(
    (e): e is Example => !!e,
  );
  const rest = examples.filter((e) => !named.includes(e));
  return [...named, ...rest].slice(0, count);
}

export async function testMoviePredictions(c: Classifier, examples: readonly Example[]): Promise<Prediction[]> {
  const k = c.genres.length;
  const scores = await predictBytes(
    c.model,
    examples.map((e) => e.image),
    c.width,
    c.height,
    c.tta,
  );
  return examples.map((e, i) => ({
    file: e.file,
    title: displayTitle(e.movie),
    scores: Object.fromEntries(c.genres.map((g, j) => [g, scores[i * k + j]!])),
    truth: e.movie.genres,
  }));
}

export function formatTestMovies(preds: readonly Prediction[], c: Pick<Classifier, 'genres' | 'thresholds'>): string {
  const thresholds = Object.fromEntries(c.genres.map((g, j) => [g, c.thresholds[j]!]));
  const w = titleWidth(preds);
  return preds.map((p) => formatPrediction(p, thresholds, 3, { titleWidth: w, markRight: true })).join('\n') + '\n';
}
