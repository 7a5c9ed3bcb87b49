/**
 * tfjs models on disk without tfjs-node: model.json (topology + weight manifest, the standard
 * tfjs layout, so tfjs tools can read it) and weights.bin, each written atomically.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs/atomic.js';
import { tf, type LayersModel } from '../../engine/index.js';

const WEIGHTS_FILE = 'weights.bin';

export async function saveLayersModel(model: LayersModel, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
      const bytes = Buffer.concat(buffers.map((b) => Buffer.from(b)));
      // Weights first: a model.json never points at weights that are not there yet.
      await writeFileAtomic(path.join(dir, WEIGHTS_FILE), bytes);
      await writeJsonAtomic(path.join(dir, 'model.json'), {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      });
      return {
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length },
      };
    }),
  );
}

export async function loadLayersModel(dir: string): Promise<LayersModel> {
  const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const parts = await Promise.all(
    json.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFile(path.join(dir, p))),
  );
  const bytes = Buffer.concat(parts);
  // Checked before tfjs slices the buffer: a tampered manifest must not read past the weights.
  const need = specs.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  if (
    specs.some((w) => w.dtype !== undefined && w.dtype !== 'float32') ||
    !Number.isSafeInteger(need) ||
    need !== bytes.length
  ) {
    throw new Error(
      `${path.join(dir, 'model.json')}: its weights manifest needs ${need} bytes of float32, the weight files hold ${bytes.length}`,
    );
  }
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}
