/**
 * POST /api/classify and /api/saliency: an uploaded poster (the request body is the file) scored
 * by the classifier: every genre with its tuned threshold, the year and IMDB score heads with
 * their validation error when the model has them, and per genre the saliency overlay the report
 * draws (the same code, src/features/report/images.ts).
 */
import { encodePng } from '../../core/images/decode.js';
import { ownName, type Classifier } from '../../artifacts/classifier-model.js';
import { heatmapOverlay } from '../report/images.js';
import { HttpError } from './http-error.js';
import type { StudioModels } from './models.js';
import { decodeUpload } from './upload.js';

function requireClassifier(m: StudioModels): Classifier {
  if (!m.classifier)
    throw new HttpError(409, 'no classifier is loaded: start serve with --model <classifier directory>');
  return m.classifier;
}

export function classifyUpload(m: StudioModels, body: Buffer) {
  const c = requireClassifier(m);
  // Decoding is libvips work on every core too: it runs in the engine's turn.
  return async () => {
    const img = await decodeUpload(body, c.width, c.height);
    const [scores] = await c.score([img]);
    const heads = m.heads ? m.heads((await c.features([img]))[0]!) : { year: null, imdb: null };
    return {
      model: ownName(c),
      genres: c.genres.map((g, j) => ({
        genre: g,
        score: Number(scores![g]!.toFixed(4)),
        threshold: Number(c.thresholds[j]!.toFixed(4)),
        predicted: scores![g]! >= c.thresholds[j]!,
      })),
      ...heads,
    };
  };
}

export function saliencyUpload(m: StudioModels, body: Buffer, genre: string | null) {
  const c = requireClassifier(m);
  if (!genre || !c.genres.includes(genre))
    throw new HttpError(
      400,
      `genre must be one of ${c.genres.join(', ')}, got ${JSON.stringify((genre ?? '').slice(0, 40))}`,
    );
  return async () => {
    const img = await decodeUpload(body, c.width, c.height);
    const [map] = await c.saliency([img], genre);
    return { genre, png: `data:image/png;base64,${(await encodePng(heatmapOverlay(img, map!))).toString('base64')}` };
  };
}
