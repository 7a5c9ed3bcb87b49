/**
 * What the studio server computes with, as the few functions it calls. The CLI wires the real
 * ones (dcgan's generator, the saved classifier, its ridge heads), so this feature imports no
 * model package and the tests can hand it tiny models.
 */
import type { Classifier } from '../../artifacts/classifier-model.js';
import type { RgbImage } from '../../core/images/decode.js';

export interface StudioGenerator {
  /** Where its weights came from, without the local path: `<run folder>/checkpoints/ckpt_001230`. */
  name: string;
  iteration: number;
  zDim: number;
  width: number;
  height: number;
  condition: { genres: string[]; decades: number[] } | null;
  /** The latent rows `dcgan generate --seed` draws (row i = poster i, whatever the count). */
  latent(seed: number, count: number): Float32Array;
  render(z: Float32Array, genres: readonly string[], decade: number | null): RgbImage[];
}

export interface HeadValue {
  value: number;
  /** The head's validation mean absolute error, as trained. */
  mae: number;
}

/** Release year and IMDB score predicted from the classifier's features, when it has those heads. */
export type Heads = (features: Float32Array) => { year: HeadValue | null; imdb: HeadValue | null };

export interface StudioModels {
  classifier: Classifier | null;
  generator: StudioGenerator | null;
  heads: Heads | null;
  /** A `dcgan train` output folder for the Runs tab. */
  samplesDir: string | null;
}
