/**
 * The training loop: seeded batches (epoch e's order and flips come from their own seeded
 * streams, so a resumed run draws exactly what an uninterrupted one would), Adam on binary
 * cross-entropy, validation metrics and per-genre F1 thresholds after every epoch, the best
 * validation macro-AUC kept as the model, a checkpoint after every epoch.
 */
import path from 'node:path';
import { UserError } from '../src/core/errors.js';
import { ensureWritableDir, removeStaleTemps, writeFileAtomic } from '../src/core/fs/atomic.js';
import { withLocks } from '../src/core/fs/lock.js';
import { foreignFilesError, OwnedDir } from '../src/core/fs/ownership.js';
import { createProgress } from '../src/core/progress.js';
import { createRng } from '../src/core/random.js';
import { formatSkipped, skippedListText } from '../src/core/skipped.js';
import { fusedAdam, inFp32, tf, type LayersModel, type Precision } from '../engine/index.js';
import { labelMatrix, type ClassifierData, type Example } from './data.js';
import { evaluateMultiLabel, genrePriors, tuneThresholds } from './metrics.js';
import { augments, buildClassifier, reseedDropout, type Version } from './models.js';
import type { MultiLabelReport } from '../src/artifacts/classifier-evaluation.js';
import {
  loadClassifier,
  modelName,
  saveClassifier,
  type ClassifierMetadata,
  type Tta,
} from '../src/artifacts/classifier-model.js';
import { checkpointDir, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { predictBytes } from './inference.js';

/** What `classifier train` writes into models/<name>/ (never over someone else's files of these names). */
const MODEL_FILES =
  /^(model\.json|weights\.bin|metadata\.json|checkpoint|checkpoint\.old|evaluation-.*\.json|skipped-posters\.txt)$/;

export interface TrainOptions {
  version: Version;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  ratio: number;
  /** The --genres spec as given (3, 7, 14 or a list), for the name. */
  genresSpec: string;
  minYear?: number;
  maxYear?: number;
  csv: string;
  data: string;
  models: string;
  name?: string;
  resume: boolean;
  limit?: number;
  /** Test-time augmentation recorded in metadata.json; the validation scores (and so the thresholds) use it. */
  tta?: Tta;
  /** What the training products compute in (the caller has set it: engine setPrecision); recorded in params. */
  precision?: Precision;
  backend: string;
  quiet?: boolean;
  /** Stop after this many epochs in this process (tests simulate a kill with it). */
  stopAfter?: number;
  log?: (line: string) => void;
}

export interface TrainResult {
  dir: string;
  meta: ClassifierMetadata;
  model: LayersModel;
}

export function bce(scores: Float32Array, labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, scores[i]!));
    s += labels[i] ? -Math.log(p) : -Math.log(1 - p);
  }
  return s / scores.length;
}

/** One training batch as tensors; flips mirror each row of the image when asked. */
function makeBatch(
  ex: readonly Example[],
  width: number,
  height: number,
  k: number,
  flip: readonly boolean[],
): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const size = width * height * 3;
  const xs = new Float32Array(ex.length * size);
  const ys = new Float32Array(ex.length * k);
  ex.forEach((e, b) => {
    const o = b * size;
    const img = e.image;
    if (flip[b]) {
      for (let r = 0; r < height; r++) {
        for (let c = 0; c < width; c++) {
          const src = (r * width + c) * 3;
          const dst = o + (r * width + (width - 1 - c)) * 3;
          xs[dst] = img[src]! / 255;
          xs[dst + 1] = img[src + 1]! / 255;
          xs[dst + 2] = img[src + 2]! / 255;
        }
      }
    } else {
      for (let i = 0; i < size; i++) xs[o + i] = img[i]! / 255;
    }
    for (let j = 0; j < k; j++) ys[b * k + j] = e.labels[j]!;
  });
  return { x: tf.tensor4d(xs, [ex.length, height, width, 3]), y: tf.tensor2d(ys, [ex.length, k]) };
}

/** The params that must match for --resume to continue a run. */
function identity(o: TrainOptions, data: ClassifierData): Record<string, unknown> {
  return {
    version: o.version,
    ratio: o.ratio,
    genres: data.genres,
    minYear: o.minYear ?? null,
    maxYear: o.maxYear ?? null,
    batch: o.batch,
    lr: o.lr,
    seed: o.seed,
    limit: o.limit ?? null,
    tta: o.tta ?? 'none',
    precision: o.precision ?? 'fp32',
  };
}

export async function trainClassifier(o: TrainOptions, data: ClassifierData): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => void process.stderr.write(l + '\n'));
  const train = data.splits.train ?? [];
  const val = data.splits.validation ?? [];
  if (!train.length)
    throw new UserError(
      `no training posters: ${o.data} has no poster for the movies of ${o.csv} that pass the filters and have one of ${data.genres.join(', ')}`,
    );
  if (!val.length)
    throw new UserError(
      `no validation posters after the filters (the seed's split puts every 6th non-test movie there); use more data`,
    );
  const name =
    o.name ??
    modelName({ genres: o.genresSpec, ratio: o.ratio, version: o.version, minYear: o.minYear, maxYear: o.maxYear });
  const dir = path.join(o.models, name);
  return withLocks(
    [{ path: dir, kind: 'dir' }],
    'classifier train',
    async () => {
      const owned = await OwnedDir.open(dir);
      const foreign = await owned.foreign(MODEL_FILES);
      if (foreign.length) {
        throw foreignFilesError(
          dir,
          foreign,
          'classifier train',
          'model.json, weights.bin, metadata.json, checkpoint/ and evaluation-*.json',
          'move them away, or choose another --name or --models',
        );
      }
      await ensureWritableDir(dir);
      await removeStaleTemps(dir);
      await owned.claim(['model.json', 'weights.bin', 'metadata.json']);
      if (data.skipped.length) {
        // Named, not only counted: the first ten here, all of them beside the model.
        const list = path.join(dir, 'skipped-posters.txt');
        await owned.claim(['skipped-posters.txt']);
        await writeFileAtomic(list, skippedListText(data.skipped));
        for (const l of formatSkipped(
          data.skipped,
          'classifier train: posters that cannot be decoded are left out',
          list,
        ))
          log(l);
      }
      return trainIn(o, data, name, dir, log);
    },
    log,
  );
}

async function trainIn(
  o: TrainOptions,
  data: ClassifierData,
  name: string,
  dir: string,
  log: (line: string) => void,
): Promise<TrainResult> {
  const train = data.splits.train ?? [];
  const val = data.splits.validation ?? [];
  const k = data.genres.length;
  const { width, height } = data;
  const params = identity(o, data);

  let model: LayersModel;
  let startEpoch = 0;
  let history: Record<string, number>[] = [];
  let bestEpoch = -1;
  let bestScore = -Infinity;
  let elapsed = 0;
  let trainedImages = 0;
  const optimizer = fusedAdam(o.lr);
  const ckpt = o.resume ? checkpointDir(dir) : null;
  if (o.resume && !ckpt) log(`note: no checkpoint in ${dir}; starting from epoch 1`);
  if (!o.resume && checkpointDir(dir)) log(`note: ${dir} has a checkpoint; starting over (--resume would continue it)`);
  if (ckpt) {
    const c = await loadCheckpoint(ckpt);
    // Checkpoints from before --tta and --precision existed scored validation without flips, trained in fp32.
    const was = { tta: 'none', precision: 'fp32', ...c.state.params };
    const mismatch = Object.keys(params).filter(
      (key) => JSON.stringify(was[key as keyof typeof was]) !== JSON.stringify(params[key]),
    );
    if (mismatch.length)
      throw new UserError(
        `--resume: ${dir} was trained with other ${mismatch.join(', ')} (${mismatch.map((m) => `${m}=${JSON.stringify(was[m as keyof typeof was])}`).join(', ')}); run without --resume to start over`,
      );
    if (c.state.fingerprint !== data.fingerprint)
      throw new UserError(
        `--resume: the data differ from the checkpoint's (fingerprint ${c.state.fingerprint}, now ${data.fingerprint}); run without --resume to start over`,
      );
    model = c.model;
    model.compile({ optimizer, loss: 'binaryCrossentropy' });
    await c.restore(optimizer);
    ({ epoch: startEpoch, history, bestEpoch, bestScore, elapsedSeconds: elapsed, trainedImages } = c.state);
    log(`resuming ${dir} after epoch ${startEpoch}`);
  } else {
    model = buildClassifier({ version: o.version, width, height, outputs: k, seed: o.seed });
    model.compile({ optimizer, loss: 'binaryCrossentropy' });
  }

  const trainLabels = labelMatrix(train, k);
  const valLabels = labelMatrix(val, k);
  const priors = genrePriors(trainLabels, k);
  const steps = Math.ceil(train.length / o.batch);
  let meta: ClassifierMetadata | null = null;
  const metaFor = (
    epoch: number,
    thresholds: number[],
    validation: MultiLabelReport | undefined,
    complete: boolean,
  ): ClassifierMetadata => ({
    name,
    genres: data.genres,
    input: { width, height, channels: 3, range: 'unit' },
    params: { ...params, epochs: o.epochs, genresSpec: o.genresSpec },
    dataset: {
      csv: o.csv,
      data: o.data,
      fingerprint: data.fingerprint,
      counts: { ...data.counts, trainDecoded: train.length, validationDecoded: val.length },
      skipped: data.skipped.length,
    },
    thresholds,
    tta: o.tta ?? 'none',
    trainPriors: priors,
    epoch,
    bestEpoch: bestEpoch + 1,
    history,
    validation,
    backend: o.backend,
    imagesPerSecond: elapsed ? trainedImages / elapsed : 0,
    complete,
    savedAt: new Date().toISOString(),
  });

  let ranThisProcess = 0;
  for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
    if (o.stopAfter !== undefined && ranThisProcess >= o.stopAfter) break;
    const order = createRng(o.seed, `classifier-shuffle-${epoch}`).shuffle(train.map((_, i) => i));
    const flipRng = createRng(o.seed, `classifier-flip-${epoch}`);
    const progress = o.quiet ? null : createProgress(`epoch ${epoch + 1}/${o.epochs}`, steps, 'loss {loss}');
    const t0 = Date.now();
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const ex = order.slice(s * o.batch, (s + 1) * o.batch).map((i) => train[i]!);
      const flip = ex.map(() => augments(o.version) && flipRng.next() < 0.5);
      const { x, y } = makeBatch(ex, width, height, k, flip);
      reseedDropout(model, o.seed, epoch * steps + s);
      const loss = (await model.trainOnBatch(x, y)) as number;
      tf.dispose([x, y]);
      lossSum += loss;
      progress?.update(s + 1, { loss: (lossSum / (s + 1)).toFixed(4) });
    }
    progress?.stop();
    const trainSeconds = (Date.now() - t0) / 1000;
    elapsed += trainSeconds;
    trainedImages += train.length;
    // Validation in fp32 whatever training computes in: the scores and thresholds of bf16 and
    // fp32 runs compare, and are what classify (fp32) gives with the saved weights.
    const scores = await inFp32(() =>
      predictBytes(
        model,
        val.map((e) => e.image),
        width,
        height,
        o.tta,
      ),
    );
    const thresholds = tuneThresholds(scores, valLabels, k);
    const rep = evaluateMultiLabel(scores, valLabels, data.genres, thresholds);
    const row = {
      epoch: epoch + 1,
      loss: lossSum / steps,
      valLoss: bce(scores, valLabels),
      valMicroAuc: rep.microAuc,
      valMacroAuc: rep.macroAuc,
      valMAP: rep.mAP,
      valTop1: rep.top1,
      seconds: trainSeconds,
      imagesPerSecond: train.length / trainSeconds,
    };
    history.push(row);
    const left = (o.epochs - epoch - 1) * (elapsed / (history.length || 1));
    log(
      `epoch ${epoch + 1}/${o.epochs}  loss ${row.loss.toFixed(4)}  val loss ${row.valLoss.toFixed(4)}  micro-AUC ${rep.microAuc.toFixed(3)}  macro-AUC ${rep.macroAuc.toFixed(3)}  mAP ${rep.mAP.toFixed(3)}  top-1 ${(100 * rep.top1).toFixed(1)}%  ` +
        `${row.imagesPerSecond.toFixed(1)} img/s  ETA ${Math.round(left)}s`,
    );
    const score = Number.isFinite(rep.macroAuc) ? rep.macroAuc : rep.microAuc;
    if (score > bestScore || bestEpoch < 0) {
      bestScore = score;
      bestEpoch = epoch;
      meta = metaFor(epoch + 1, thresholds, rep, false);
      await saveClassifier(model, dir, meta);
    }
    await saveCheckpoint(dir, model, optimizer, {
      epoch: epoch + 1,
      params,
      fingerprint: data.fingerprint,
      history,
      bestEpoch,
      bestScore,
      elapsedSeconds: elapsed,
      trainedImages,
    });
    ranThisProcess++;
  }
  const best = await loadClassifier(dir);
  const done = history.length >= o.epochs;
  meta = {
    ...best.meta,
    epoch: history.length,
    history,
    imagesPerSecond: elapsed ? trainedImages / elapsed : 0,
    complete: done,
    savedAt: new Date().toISOString(),
  };
  await saveClassifier(best.model, dir, meta);
  return { dir, meta, model: best.model };
}
