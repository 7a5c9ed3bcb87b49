/**
 * The feature network sample-quality numbers are computed with, named by a hash of its files:
 * two numbers compare only when they carry the same name. The default is the shipped genre
 * classifier (models/default/classifier: one copy of the weights for `classify` and `dcgan eval`,
 * trained on the real posters, see the README for the command that reproduces it), so
 * `dcgan eval` works with no --model.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../core/errors.js';
import { openGenreModel, ownName, type GenreModel } from '../../artifacts/classifier-model.js';
import { shippedPath } from '../../artifacts/default-models.js';

export const DEFAULT_FEATURE_NET = (): string => shippedPath('classifier');

export interface FeatureNet {
  model: GenreModel;
  /** `<name>@<first 12 hex of sha256 over model.json and its weight files>`. */
  id: string;
}

/** sha256 over model.json and the weight files it lists, in its order. */
export async function featureNetHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  let json: { weightsManifest?: { paths?: string[] }[] };
  try {
    const text = await fs.readFile(path.join(dir, 'model.json'));
    h.update(text);
    json = JSON.parse(text.toString('utf8')) as typeof json;
  } catch (err) {
    throw new UserError(
      `--model: ${path.join(dir, 'model.json')} cannot be read (${(err as Error).message.split('\n')[0]}); give a classifier directory (model.json + weights)`,
    );
  }
  for (const p of (json.weightsManifest ?? []).flatMap((g) => g.paths ?? [])) {
    try {
      h.update(await fs.readFile(path.join(dir, p)));
    } catch {
      throw new UserError(`--model: ${dir} lists weight file ${p}, which cannot be read`);
    }
  }
  return h.digest('hex').slice(0, 12);
}

export async function openFeatureNet(dir = DEFAULT_FEATURE_NET()): Promise<FeatureNet> {
  const hash = await featureNetHash(dir);
  const model = await openGenreModel(dir);
  return { model, id: `${ownName(model)}@${hash}` };
}
