/**
 * `dcgan train`: the loop around trainIteration. It owns the output directory: grids and their
 * sidecars, losses.csv, checkpoints, and the training video. A resumed run continues exactly
 * where the checkpoint was taken: same step counter, same batches, same fixed grid latents.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gridBase, listGrids, removeGridsAfter } from '../src/artifacts/grid-sidecar.js';
import { LOSSES_FILE, LossLog, lossesPath, startLosses, trimLosses } from '../src/artifacts/losses-csv.js';
import { UserError } from '../src/core/errors.js';
import { removeStaleTemps, writeFileAtomic } from '../src/core/fs/atomic.js';
import { foreignFilesError, OwnedDir } from '../src/core/fs/ownership.js';
import { BEST_DIR, BEST_JSON, KID_CSV, readBest, writeBest, writeKidRow } from '../src/artifacts/kid-log.js';
import { createProgress } from '../src/core/progress.js';
import { createRng } from '../src/core/random.js';
import { formatSkipped, skippedListText } from '../src/core/skipped.js';
import { tf } from '../engine/index.js';
import { type ModelConfig, type TrainOptions, batchSizeOf, conditionDim } from './config.js';
import {
  CHECKPOINT_NAME,
  ExportedGeneratorError,
  listCheckpoints,
  loadLatestCheckpoint,
  removeCheckpointTemps,
  removeCheckpoints,
  saveCheckpoint,
} from './checkpoint.js';
import {
  batchPixels,
  conditionVocab,
  encodeCondition,
  loadTrainingSet,
  type SourceOptions,
  type TrainingSet,
} from './data.js';
import { mirrorHalf } from './augment.js';
import { isExportedGenerator } from './generator-file.js';
import { epochOrder, fixedLatent, gridConditions, iterationLatent, type CellCondition } from './latent.js';
import { GRID_GAP, meanPairwiseDistance, toImages, writeGrid } from './grids.js';
import type { Recipe } from './recipe.js';
import { createState, disposeState, type TrainState } from './state.js';
import { sampleFixed, type StepLosses, trainIteration } from './step.js';

export interface TrainRun {
  input: string;
  output: string;
  checkpointDir: string;
  /** Architecture for a fresh run (a resumed run takes the checkpoint's). */
  config: ModelConfig;
  conditional: boolean;
  seed: number;
  train: TrainOptions;
  /** How a fresh run trains (a resumed run keeps its checkpoint's). */
  recipe: Recipe;
  /** Recipe fields the user set explicitly (checked against a resumed checkpoint). */
  explicitRecipe?: Partial<Recipe>;
  epochs: number;
  /** Stop after this many iterations in total (0: epochs decide). */
  iterations: number;
  sampleRate: number;
  useCheckpoints: boolean;
  checkpointRate: number;
  keepCheckpoints: number;
  resume: boolean;
  fresh: boolean;
  /**
   * Every `every` iterations, `kid` scores G (lower is better) and the best checkpoint so far is
   * kept in <checkpointDir>/best, apart from the last N.
   */
  evaluate?: { every: number; kid: (s: TrainState) => Promise<{ mean: number; std: number }> };
  /** Called after a grid is written, e.g. to render the video so far. */
  onGrid?: (iteration: number) => Promise<void> | void;
  /** Architecture fields the user set explicitly (checked against a resumed checkpoint). */
  explicit?: Partial<ModelConfig>;
  /** Hyper-parameters the user set explicitly: on --resume they replace the checkpoint's. */
  explicitTrain?: Partial<TrainOptions>;
  quiet?: boolean;
  /** Which files and how they are cut (--input_fname_pattern, --crop). */
  source?: SourceOptions;
  /** Images per epoch at most (the fork's --train_size); absent = all. */
  trainSize?: number;
}

export interface TrainResult {
  state: TrainState;
  iterations: number;
  imagesPerSecond: number;
  grids: string[];
  stoppedEarly: boolean;
}

function log(run: TrainRun, line: string): void {
  if (!run.quiet) process.stderr.write(line + '\n');
}

/** What `dcgan train` writes into --output (and would refuse to clobber when someone else's). */
export const TRAIN_OUTPUT_NAMES = /^(grid_\d+\.(png|json)|losses\.csv|kid\.csv|train\.mp4|skipped-posters\.txt)$/;
const SKIPPED_LIST = 'skipped-posters.txt';

/** Refuses an --output or --checkpoint_dir holding files of someone else under names training writes. */
async function checkForeign(run: TrainRun, out: OwnedDir, ck: OwnedDir): Promise<void> {
  const foreign = await out.foreign(TRAIN_OUTPUT_NAMES);
  if (foreign.length) {
    throw foreignFilesError(
      run.output,
      foreign,
      'dcgan train',
      'grid_*.png/.json, losses.csv and train.mp4',
      'move them away or choose another --output',
    );
  }
  const ckForeign = await ck.foreign(CHECKPOINT_NAME);
  if (ckForeign.length) {
    throw foreignFilesError(
      run.checkpointDir,
      ckForeign,
      'dcgan train',
      'ckpt_* checkpoints',
      'move them away or choose another --checkpoint_dir',
    );
  }
}

/** --fresh: removes the earlier run's grids, losses, video and checkpoints, only those poster-studio wrote. */
async function removeEarlierRun(out: OwnedDir, ck: OwnedDir, dir: string): Promise<number> {
  let removed = 0;
  const gone: string[] = [];
  for (const g of await listGrids(dir)) {
    for (const name of [path.basename(g.file), path.basename(g.file).replace(/\.png$/, '.json')]) {
      if (await out.removeFile(name)) removed++;
      gone.push(name);
    }
  }
  for (const name of ['losses.csv', KID_CSV, 'train.mp4']) {
    if (await out.removeFile(name)) removed++;
    gone.push(name);
  }
  await out.forget(gone);
  removed += await removeCheckpoints(ck, await listCheckpoints(ck.dir));
  // The best checkpoint of --eval_every lives in its own folder: an earlier run's best must not outrank this run's.
  const best = await OwnedDir.open(path.join(ck.dir, BEST_DIR));
  removed += await removeCheckpoints(best, await listCheckpoints(best.dir));
  if (await best.removeFile(BEST_JSON)) removed++;
  await best.forget([BEST_JSON]);
  return removed;
}

async function startState(
  run: TrainRun,
  set: (batch: number) => Promise<TrainingSet>,
): Promise<{ state: TrainState; data: TrainingSet; cells: CellCondition[] | null }> {
  if (run.resume)
    for (const dir of [run.checkpointDir, run.output])
      if (await isExportedGenerator(dir)) throw new ExportedGeneratorError(dir);
  const out = await OwnedDir.open(run.output);
  const ckDir = await OwnedDir.open(run.checkpointDir);
  await checkForeign(run, out, ckDir);
  await removeCheckpointTemps(run.checkpointDir);
  // The checkpoint folder's own list is rewritten atomically too: a kill can leave its temp.
  await removeStaleTemps(run.checkpointDir);
  if (run.resume) {
    const found = await loadLatestCheckpoint(run.checkpointDir);
    if (!found) throw new UserError(`--resume: no checkpoint in ${run.checkpointDir}; start without --resume`);
    for (const s of found.skipped) log(run, `warning: skipped damaged checkpoint ${s}`);
    const s = found.state;
    const ck = s.net.config;
    const differ = (given: object | undefined, saved: object): string[] =>
      Object.entries(given ?? {})
        .filter(([k, v]) => JSON.stringify((saved as Record<string, unknown>)[k]) !== JSON.stringify(v))
        .map(([k]) => `${k}=${JSON.stringify((saved as Record<string, unknown>)[k])}`);
    const diffs = [...differ(run.explicit, ck), ...differ(run.explicitRecipe, s.recipe)];
    if (diffs.length) {
      disposeState(s);
      throw new UserError(
        `--resume: the checkpoint was trained with ${diffs.join(', ')}; drop those flags or start a new run in another --output`,
      );
    }
    if (run.train.rows !== s.train.rows || run.train.cols !== s.train.cols) {
      log(
        run,
        `note: the checkpoint's grid is ${s.train.rows}x${s.train.cols} (its batch size); --grid_height/--grid_width are ignored on --resume`,
      );
    }
    // Hyper-parameters may change on resume: the ones given now win, the rest stay the checkpoint's.
    s.train = {
      ...s.train,
      ...run.explicitTrain,
      rows: s.train.rows,
      cols: s.train.cols,
      batchSize: s.train.batchSize,
    };
    s.optG.opts.learningRate = s.train.learningRateG;
    s.optD.opts.learningRate = s.train.learningRateD;
    s.optG.opts.beta1 = s.optD.opts.beta1 = s.train.beta1;
    const data = await set(batchSizeOf(s.train));
    if (data.entries.length !== s.datasetSize) {
      log(
        run,
        `warning: the checkpoint was trained on ${s.datasetSize} posters, ${run.input} has ${data.entries.length}; batches will differ from the original run`,
      );
    }
    await out.claim([LOSSES_FILE]);
    const kept = await trimLosses(lossesPath(run.output), s.iteration);
    const removed = await removeGridsAfter(out, s.iteration);
    log(
      run,
      `resuming from ${found.path} (iteration ${s.iteration}; ${kept} loss rows kept${removed ? `, ${removed} later grids removed` : ''})`,
    );
    const cells = ck.condition ? gridConditions(ck.condition, s.train.rows, s.train.cols) : null;
    return { state: s, data, cells };
  }
  const existing = (await listGrids(run.output)).length;
  const ckpts = await listCheckpoints(run.checkpointDir);
  if ((existing || ckpts.length) && !run.fresh) {
    throw new UserError(
      `${run.output} already holds a training run (${existing} grids${ckpts.length ? `, checkpoint at iteration ${ckpts[0]}` : ''}); pass --resume to continue it, --fresh to start over (deletes them) or another --output`,
    );
  }
  if (run.fresh) {
    const removed = await removeEarlierRun(out, ckDir, run.output);
    log(run, `--fresh: removed ${removed} files of the earlier run (only files poster-studio wrote)`);
  }
  const data = await set(batchSizeOf(run.train));
  if (run.conditional && data.entries.every((e) => e.genres.length === 0 && e.year === null)) {
    throw new UserError(
      `--conditional needs genres and years: ${run.input} has no manifest.json with them; prepare it with prepare-dcgan`,
    );
  }
  const config: ModelConfig = { ...run.config, condition: run.conditional ? conditionVocab(data.entries) : null };
  // The fixed sample latents: one per grid cell, whatever the training batch.
  const B = run.train.rows * run.train.cols;
  const cells = config.condition ? gridConditions(config.condition, run.train.rows, run.train.cols) : null;
  let fixedY: Float32Array | null = null;
  if (config.condition && cells) {
    const cd = conditionDim(config);
    fixedY = new Float32Array(B * cd);
    cells.forEach((c, i) => encodeCondition(config.condition!, c.genres, c.decade, fixedY!, i * cd));
  }
  const state = createState(
    config,
    run.seed,
    run.train,
    fixedLatent(run.seed, B, config.zDim),
    fixedY,
    data.entries.length,
    run.recipe,
  );
  await out.claim([LOSSES_FILE]);
  await startLosses(lossesPath(run.output));
  return { state, data, cells };
}

export async function train(run: TrainRun): Promise<TrainResult> {
  const created = (await fs.mkdir(run.output, { recursive: true })) !== undefined;
  await removeStaleTemps(run.output);
  const loadSet = async (batch: number): Promise<TrainingSet> => {
    const c = run.config;
    return loadTrainingSet(run.input, c.width, c.height, batch, run.quiet, run.source);
  };
  const {
    state: s,
    data,
    cells: cellConditions,
  } = await startState(run, loadSet).catch(async (err: unknown) => {
    // A run refused before it wrote anything (no posters, a bad checkpoint) leaves no empty
    // output directory behind; rmdir removes only an empty one.
    if (created) await fs.rmdir(run.output).catch(() => undefined);
    throw err;
  });
  const c = s.net.config;
  // A resumed run keeps the checkpoint's batch, whatever the flags say.
  const B = batchSizeOf(s.train);
  const cells = s.train.rows * s.train.cols;
  const out = await OwnedDir.open(run.output);
  if (data.width !== c.width || data.height !== c.height) {
    // A resumed checkpoint may have another size than the flags: decode again at its size.
    Object.assign(data, await loadTrainingSet(run.input, c.width, c.height, B, run.quiet, run.source));
  }
  if (data.skipped.length) {
    const list = path.join(run.output, SKIPPED_LIST);
    await out.claim([SKIPPED_LIST]);
    await writeFileAtomic(list, skippedListText(data.skipped));
    for (const l of formatSkipped(data.skipped, 'dcgan train: posters that could not be decoded are left out', list))
      log(run, l);
  }
  const perEpoch = Math.floor(Math.min(data.entries.length, run.trainSize ?? Infinity) / B);
  const total = run.iterations > 0 ? run.iterations : run.epochs * perEpoch;
  const cd = conditionDim(c);
  const labels = c.condition ? new Float32Array(data.entries.length * cd) : null;
  if (labels && c.condition)
    data.entries.forEach((e, i) => encodeCondition(c.condition!, e.genres, e.year, labels, i * cd));
  const geometry = { rows: s.train.rows, cols: s.train.cols, cellWidth: c.width, cellHeight: c.height, gap: GRID_GAP };
  const losses = new LossLog(lossesPath(run.output));
  const grids: string[] = [];
  let last: { d: number; g: number } | null = null;

  const grid = async (iteration: number): Promise<void> => {
    const px = sampleFixed(s);
    await out.claim([`${gridBase(iteration)}.png`, `${gridBase(iteration)}.json`]);
    const file = await writeGrid(run.output, toImages(px, cells, c.width, c.height), geometry, {
      iteration,
      epoch: iteration === 0 ? 0 : Math.floor((iteration - 1) / perEpoch),
      ...geometry,
      losses: last,
      seed: s.seed,
      z_dim: c.zDim,
      diversity: Number(meanPairwiseDistance(px, cells).toFixed(3)),
      ...(cellConditions ? { conditional: cellConditions } : {}),
    });
    grids.push(file);
    await run.onGrid?.(iteration);
  };
  const checkpoint = async (): Promise<void> => {
    await losses.flush();
    if (run.useCheckpoints) await saveCheckpoint(s, run.checkpointDir, run.keepCheckpoints);
  };
  const bestDir = path.join(run.checkpointDir, BEST_DIR);
  let best = await readBest(bestDir);
  const evaluate = async (it: number): Promise<void> => {
    const k = await run.evaluate!.kid(s);
    await out.claim([KID_CSV]);
    await writeKidRow(run.output, it, k.mean, k.std);
    const better = best === null || k.mean < best.kid;
    log(
      run,
      `\nKID at iteration ${it}: ${k.mean.toFixed(4)} ± ${k.std.toFixed(4)}${better ? ' (best so far: kept in ' + bestDir + ')' : ` (best ${best!.kid.toFixed(4)} at ${best!.iteration})`}`,
    );
    if (!better) return;
    await saveCheckpoint(s, bestDir, 1);
    best = { iteration: it, kid: k.mean };
    await (await OwnedDir.open(bestDir)).claim([BEST_JSON]);
    await writeBest(bestDir, best);
  };

  log(
    run,
    `training on ${data.entries.length} posters at ${c.width}x${c.height}, batch ${B} (${s.train.rows}x${s.train.cols} grid), ${perEpoch} iterations per epoch, iterations ${s.iteration + 1}-${total}`,
  );
  if (s.iteration === 0) await grid(0);
  let stop = false;
  const onSignal = (): void => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write('\nstopping after this iteration (checkpoint first); press Ctrl-C again to quit at once\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = run.quiet ? null : createProgress('dcgan', total, 'D {d} | G {g} | {ips} img/s');
  const start = Date.now();
  const first = s.iteration;
  let order: number[] = [];
  let orderEpoch = -1;
  try {
    for (let it = s.iteration + 1; it <= total; it++) {
      const epoch = Math.floor((it - 1) / perEpoch);
      if (epoch !== orderEpoch) {
        order = epochOrder(s.seed, epoch, data.entries.length);
        orderEpoch = epoch;
      }
      const b = (it - 1) % perEpoch;
      const idx = order.slice(b * B, (b + 1) * B);
      const t0 = Date.now();
      const l: StepLosses = { d: NaN, g: NaN };
      tf.tidy(() => {
        const px = batchPixels(data, idx);
        if (s.recipe.mirror) mirrorHalf(px, B, c.height, c.width, createRng(s.seed, `mirror:${it}`));
        const real = tf.tensor4d(px, [B, c.height, c.width, 3]);
        const z = tf.tensor2d(iterationLatent(s.seed, it, B, c.zDim), [B, c.zDim]);
        let y: tf.Tensor2D | null = null;
        if (labels) {
          const yy = new Float32Array(B * cd);
          idx.forEach((j, k) => yy.set(labels.subarray(j * cd, (j + 1) * cd), k * cd));
          y = tf.tensor2d(yy, [B, cd]);
        }
        Object.assign(l, trainIteration(s, real, z, y, it));
      });
      s.iteration = it;
      last = l;
      losses.add(it, epoch, l.d, l.g, (Date.now() - t0) / 1000);
      const ips = ((it - first) * B) / ((Date.now() - start) / 1000);
      progress?.update(it, { d: l.d.toFixed(3), g: l.g.toFixed(3), ips: ips.toFixed(1) });
      if (it % run.sampleRate === 0 || it === total) {
        await losses.flush();
        await grid(it);
      }
      if (it % run.checkpointRate === 0 || it === total || stop) await checkpoint();
      if (run.evaluate && (it % run.evaluate.every === 0 || it === total)) await evaluate(it);
      if (stop) break;
      // Lets a pending SIGINT reach onSignal between iterations.
      await new Promise((r) => setImmediate(r));
    }
    await losses.flush();
  } finally {
    progress?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const seconds = (Date.now() - start) / 1000;
  return {
    state: s,
    iterations: s.iteration - first,
    imagesPerSecond: seconds > 0 ? ((s.iteration - first) * B) / seconds : 0,
    grids,
    stoppedEarly: stop,
  };
}
