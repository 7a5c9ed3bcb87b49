/** `poster-studio classifier evaluate`: multi-label metrics of one model, or of every model, against baselines. */
import type { Command } from 'commander';
import path from 'node:path';
import { existsSync, promises as fs } from 'node:fs';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { UserError } from '../../src/core/errors.js';
import type { SplitName } from '../../src/core/dataset/index.js';
import { unwritableReason } from '../../src/core/fs/atomic.js';
import { checkFile, writeOwnedFile } from '../../src/core/fs/ownership.js';
import { formatSkipped } from '../../src/core/skipped.js';
import { DEFAULT_MODELS } from '../../src/core/paths.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { loadClassifierData } from '../../classifier/data.js';
import { evaluationPath, writeEvaluation, type Evaluation } from '../../src/artifacts/classifier-evaluation.js';
import { evaluateOn, formatEvaluation } from '../../classifier/evaluate.js';
import {
  allClassifiers,
  loadClassifier,
  METADATA_FILE,
  newestClassifier,
  saveMetadata,
  TTA_MODES,
  type Tta,
} from '../../src/artifacts/classifier-model.js';
import { formatTestMovies, pickTestMovies, testMoviePredictions } from '../../classifier/seed-report.js';

const evaluateFlags = defineFlags({
  ...backendFlags,
  csv: { kind: 'path', exists: 'file', help: 'MovieGenre.csv (default: the one the model was trained on)' },
  data: { kind: 'path', exists: 'dir', help: "poster directory (default: the model's)" },
  model: { kind: 'path', exists: 'dir', help: 'model directory (default: the newest under --models)' },
  models: { kind: 'path', default: DEFAULT_MODELS, help: 'where to look for the newest model' },
  all: {
    kind: 'bool',
    default: false,
    help: "every model under --models, one after another, each with its test movies' predictions (the seed's tests.py)",
  },
  split: {
    kind: 'string',
    default: 'test',
    choices: ['validation', 'test'],
    help: 'which split to evaluate on (thresholds come from validation)',
  },
  json: {
    kind: 'path',
    help: 'also write the evaluation JSON here (it goes to <model>/evaluation-<split>.json too when the model folder is writable; a read-only one, e.g. the shipped model of a global install, is left alone and a line says so)',
  },
  tta: {
    kind: 'string',
    choices: [...TTA_MODES],
    help: "score with this test-time augmentation instead of the model's own ('flip': mean with the mirrored poster)",
  },
  retune: {
    kind: 'bool',
    default: false,
    help: "with --split validation: tune the thresholds on these scores and save them, with --tta, in the model's metadata.json (weights untouched)",
  },
});

type EvaluateValues = ReturnType<typeof readFlags<typeof evaluateFlags>>;

async function evaluateModel(dir: string, o: EvaluateValues, withTestMovies: boolean): Promise<Evaluation> {
  // Refused before any work: the metadata.json --retune would replace must be ours, in a folder it can write.
  const readOnly = await unwritableReason(dir);
  if (o.retune && readOnly)
    throw new UserError(`--retune: ${dir} is not writable (${readOnly}); copy the model to a folder you can write`);
  if (o.retune) await checkFile(path.join(dir, METADATA_FILE), '--retune');
  if (!readOnly) await checkFile(evaluationPath(dir, o.split as SplitName), '--model');
  const c = await loadClassifier(dir);
  const csv = o.csv ?? c.meta.dataset.csv;
  const posters = o.data ?? c.meta.dataset.data;
  if (!existsSync(csv)) throw new UserError(`${csv}: the model's CSV is not there; pass --csv`);
  if (!existsSync(posters)) throw new UserError(`${posters}: the model's poster directory is not there; pass --data`);
  const p = c.meta.params as { ratio: number; minYear: number | null; maxYear: number | null; limit: number | null };
  const split = o.split as SplitName;
  const data = await loadClassifierData({
    csv,
    data: posters,
    genres: c.genres,
    ratio: p.ratio,
    minYear: p.minYear ?? undefined,
    maxYear: p.maxYear ?? undefined,
    limit: p.limit ?? undefined,
    splits: [split],
  });
  for (const l of formatSkipped(data.skipped, 'classifier evaluate: posters that cannot be decoded are left out', null))
    process.stderr.write(l + '\n');
  if (data.fingerprint !== c.meta.dataset.fingerprint)
    process.stderr.write(
      `note: the data differ from what ${dir} was trained on (fingerprint ${data.fingerprint}, model ${c.meta.dataset.fingerprint})\n`,
    );
  if (o.retune && data.fingerprint !== c.meta.dataset.fingerprint)
    throw new UserError(
      `--retune: the data differ from what ${dir} was trained on, so their validation split may hold its training posters; pass the --csv/--data it was trained on`,
    );
  const examples = data.splits[split]!;
  const tta = (o.tta as Tta | undefined) ?? c.tta;
  const e = await evaluateOn(c, examples, split, { tta, retune: o.retune });
  if (o.retune) {
    // Only metadata.json changes: the weights (and the feature network's hash) stay byte-identical.
    await saveMetadata(dir, {
      ...c.meta,
      thresholds: c.genres.map((g) => e.model_metrics.perGenre[g]!.threshold),
      tta,
      validation: e.model_metrics,
      savedAt: new Date().toISOString(),
    });
    process.stderr.write(`retuned the thresholds of ${dir} on ${e.count} validation posters (tta ${tta})\n`);
  }
  // Beside the model is where `report` finds it, but a read-only install must still evaluate.
  const file = readOnly ? null : await writeEvaluation(dir, e);
  process.stdout.write(formatEvaluation(e));
  if (withTestMovies) {
    process.stdout.write(`\npredictions ([o] a genre of the movie, [!] not one of its genres):\n`);
    process.stdout.write(formatTestMovies(await testMoviePredictions(c, pickTestMovies(examples)), c));
  }
  process.stderr.write(
    file
      ? `wrote ${file}\n`
      : `evaluation-${split}.json not written beside the model: ${dir} is not writable (${readOnly}); ${o.json ? `--json ${o.json} keeps it` : 'pass --json <file> to keep it'}\n`,
  );
  return e;
}

export function configureEvaluate(cmd: Command): Command {
  return addFlags(cmd, evaluateFlags).action(async () => {
    const o = readFlags(cmd, evaluateFlags);
    if (o.all && o.model) throw new UserError('--all evaluates every model under --models; drop --model (or --all)');
    if (o.retune && o.split !== 'validation')
      throw new UserError(
        `--retune tunes thresholds on the validation split, never on ${o.split}: add --split validation`,
      );
    if (o.retune && o.all) throw new UserError('--retune rewrites one model: give --model <dir>, not --all');
    const dirs = o.all
      ? await allClassifiers(o.models)
      : [o.model ?? (await newestClassifier(o.models))].filter((d): d is string => !!d);
    if (!dirs.length)
      throw new UserError(
        `no trained classifier in ${o.models}; train one with 'poster-studio classifier train' or pass --model <dir>`,
      );
    await initBackend(o.backend);
    const results: { dir: string; e: Evaluation }[] = [];
    for (const dir of dirs) {
      if (o.all) process.stdout.write(`${results.length ? '\n' : ''}=== ${dir}\n`);
      results.push({ dir, e: await evaluateModel(dir, o, o.all) });
    }
    if (o.json) {
      await fs.mkdir(path.dirname(path.resolve(o.json)), { recursive: true });
      await writeOwnedFile(
        o.json,
        JSON.stringify(o.all ? results.map((r) => r.e) : results[0]!.e, null, 2) + '\n',
        '--json',
      );
      process.stderr.write(`wrote ${o.json}\n`);
    }
    if (results.length > 1) {
      const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
      const pc = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '-');
      const rows = [['model', 'posters', 'micro-AUC', 'macro-AUC', 'mAP', 'top-1', 'seed accuracy']];
      for (const { dir, e } of results) {
        const m = e.model_metrics;
        rows.push([
          path.basename(dir),
          String(e.count),
          f(m.microAuc),
          f(m.macroAuc),
          f(m.mAP),
          pc(m.top1),
          pc(e.seedAccuracy?.value ?? NaN),
        ]);
      }
      const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
      process.stdout.write(
        `\nall models, ${o.split} split:\n` +
          rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ')).join('\n') +
          '\n',
      );
    }
  });
}
