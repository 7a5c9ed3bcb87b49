/** `poster-studio classifier compare`: the model versions trained on the same split and budget, side by side. */
import type { Command } from 'commander';
import path from 'node:path';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { UserError } from '../../src/core/errors.js';
import type { SplitName } from '../../src/core/dataset/index.js';
import { writeOwnedFile } from '../../src/core/fs/ownership.js';
import { initBackend, inFp32, setPrecision, type Precision } from '../../engine/index.js';
import { loadClassifierData } from '../../classifier/data.js';
import { writeEvaluation, type Evaluation } from '../../src/artifacts/classifier-evaluation.js';
import { evaluateOn } from '../../classifier/evaluate.js';
import { VERSIONS, VERSION_NOTES, type Version } from '../../classifier/models.js';
import { loadClassifier } from '../../src/artifacts/classifier-model.js';
import { runTrain, trainFlags } from './classifier-train.js';

const compareFlags = defineFlags({
  ...trainFlags,
  versions: {
    kind: 'list',
    default: ['1', '2', '3', '4'],
    help: 'model versions to train and compare on the same split and budget',
  },
  epochs: { kind: 'int', default: 5, min: 1, max: 10000, help: 'training epochs for every version (the same budget)' },
  ratio: { kind: 'int', default: 30, min: 10, max: 100, arg: 'pct', help: 'input size as a percentage of 182x268' },
  split: {
    kind: 'string',
    default: 'validation',
    choices: ['validation', 'test'],
    help: 'split the versions are compared on',
  },
  output: { kind: 'path', help: 'write the comparison JSON here (default: <models>/compare-<genres>_ratio-<r>.json)' },
});

export function configureCompare(cmd: Command): Command {
  return addFlags(cmd, compareFlags).action(async () => {
    const o = readFlags(cmd, compareFlags);
    const versions = o.versions.map((v) => {
      const n = Number(v);
      if (!VERSIONS.includes(n as Version))
        throw new UserError(`--versions: '${v}' is not a model version; valid: ${VERSIONS.join(', ')}`);
      return n as Version;
    });
    if (o.name) throw new UserError('--name cannot be used with compare: each version gets its own directory');
    const backend = await initBackend(o.backend);
    setPrecision(o.precision as Precision, backend);
    const split = o.split as SplitName;
    const rows: { version: Version; dir: string; evaluation: Evaluation; imagesPerSecond: number; params: number }[] =
      [];
    for (const version of versions) {
      process.stderr.write(`compare: training v${version} (${VERSION_NOTES[version]})\n`);
      const r = await runTrain({ ...o, extras: false, resume: true }, version, backend);
      const c = await loadClassifier(r.dir);
      const data = await loadClassifierData({
        csv: o.csv,
        data: o.data,
        genres: c.genres,
        ratio: o.ratio,
        minYear: o.min_year,
        maxYear: o.max_year,
        limit: o.limit,
        splits: [split],
        quiet: true,
      });
      const e = await inFp32(() => evaluateOn(c, data.splits[split]!, split));
      await writeEvaluation(r.dir, e);
      rows.push({
        version,
        dir: r.dir,
        evaluation: e,
        imagesPerSecond: r.meta.imagesPerSecond,
        params: c.model.countParams(),
      });
    }
    const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
    const table = [['version', 'params', 'micro-AUC', 'macro-AUC', 'mAP', 'macro-F1', 'top-1', 'img/s']];
    for (const r of rows) {
      const m = r.evaluation.model_metrics;
      table.push([
        `v${r.version}`,
        String(r.params),
        f(m.microAuc),
        f(m.macroAuc),
        f(m.mAP),
        f(m.macroF1),
        `${(100 * m.top1).toFixed(1)}%`,
        r.imagesPerSecond.toFixed(1),
      ]);
    }
    const p = rows[0]?.evaluation.baselines.genrePrior;
    if (p)
      table.push([
        'genre-prior',
        '0',
        f(p.microAuc),
        f(p.macroAuc),
        f(p.mAP),
        f(p.macroF1),
        `${(100 * p.top1).toFixed(1)}%`,
        '',
      ]);
    const w = table[0]!.map((_, j) => Math.max(...table.map((r) => r[j]!.length)));
    process.stdout.write(
      `${o.epochs} epochs each, ratio ${o.ratio}, seed ${o.seed}, ${split} split (${rows[0]?.evaluation.count ?? 0} posters), backend ${backend}\n\n` +
        table.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ')).join('\n') +
        '\n',
    );
    const out = o.output ?? path.join(o.models, `compare-${o.genres.replace(/,/g, '+')}_ratio-${o.ratio}.json`);
    await writeOwnedFile(
      out,
      JSON.stringify(
        {
          split,
          epochs: o.epochs,
          ratio: o.ratio,
          seed: o.seed,
          backend,
          versions: rows.map((r) => ({
            version: r.version,
            dir: r.dir,
            params: r.params,
            imagesPerSecond: r.imagesPerSecond,
            ...r.evaluation,
          })),
        },
        null,
        2,
      ) + '\n',
      '--output',
    );
    process.stderr.write(`wrote ${out}\n`);
  });
}
