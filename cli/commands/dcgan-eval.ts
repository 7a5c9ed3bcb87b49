/**
 * `dcgan eval --checkpoint <ckpt | run> --real <posters>`: KID, FID and precision/recall of a
 * generator against real posters, with the scale beside them, all through one named feature
 * network. On a run folder (or a checkpoints folder) every checkpoint becomes a row of
 * eval.csv / eval.json.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { openFeatureNet } from '../../src/features/fid/feature-net.js';
import { DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { defaultRealDir } from '../../src/features/scoring/real.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { checkpointName, listCheckpoints } from '../../dcgan/checkpoint.js';
import { openSampler } from '../../dcgan/generate.js';
import { checkGenres, evaluateState, genreShares, loadRealPosters, prepareScale } from '../../dcgan/eval.js';
import {
  type Curve,
  type CurveKey,
  type CurveRow,
  cpuMinutesAt,
  EVAL_CSV,
  EVAL_JSON,
  EVAL_VERSION,
  type Metrics,
  readCpuLog,
  readCurve,
  writeCurve,
} from '../../src/artifacts/eval-curve.js';
import type { BnMode } from '../../dcgan/layers.js';
import { checkFile, claimFile } from '../../src/core/fs/ownership.js';

export const evalFlags = defineFlags({
  checkpoint: {
    kind: 'path',
    default: DEFAULT_SAMPLES,
    exists: 'dir',
    help: 'a ckpt_* directory (one summary line), or a checkpoints directory or dcgan train --output (every checkpoint: eval.csv + eval.json)',
  },
  real: {
    kind: 'path',
    exists: 'dir',
    help: "real posters: a poster directory or a prepare-dcgan output (default: data/dcgan, then data/posters); decoded at the generator's size",
  },
  count: {
    kind: 'int',
    default: 2000,
    min: 10,
    max: 100000,
    help: 'posters generated per checkpoint (KID and precision/recall are trustworthy from ~1,000; FID stays biased by sample size)',
  },
  model: {
    kind: 'path',
    exists: 'dir',
    help: 'feature network: a classifier directory (default: the shipped classifier, models/default/classifier)',
  },
  output: {
    kind: 'path',
    default: '',
    help: 'where eval.csv / eval.json go for a run (default: the run folder); a curve only grows with the same network and settings',
  },
  cpu_log: {
    kind: 'path',
    exists: 'file',
    help: 'CSV wall_s,cpu_s,unix of the training process (scripts/cpu-sampler.sh): adds CPU minutes per checkpoint (by its mtime)',
  },
  fresh: { kind: 'bool', default: false, help: 'start the curve over instead of adding to an earlier eval.json' },
  genres: {
    kind: 'list',
    default: [],
    arg: 'a,b',
    help: 'conditional models: genres to measure the per-genre share for (default: all the model knows)',
  },
  genre_count: {
    kind: 'int',
    default: 200,
    min: 10,
    max: 10000,
    help: 'conditional models: posters generated per genre',
  },
  bn_stats: {
    kind: 'string',
    default: 'batch',
    choices: ['batch', 'moving'],
    help: "batch norm while generating: each batch's own statistics (as the grids) or the running averages",
  },
  seed: {
    kind: 'int',
    default: 1,
    min: 0,
    help: 'seed of the latents, the real halves, the noise and the KID subsets',
  },
  json: { kind: 'bool', default: false, help: 'print the result as JSON instead of the summary line' },
  ...backendFlags,
});

const exists = (p: string): Promise<boolean> =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

/** The checkpoints to evaluate, oldest first, and whether they make a curve. */
async function targets(p: string): Promise<{ ckpts: string[]; run: string | null }> {
  if (await exists(path.join(p, 'state.json'))) return { ckpts: [p], run: null };
  for (const dir of [p, path.join(p, 'checkpoints')]) {
    const its = await listCheckpoints(dir);
    if (its.length)
      return {
        ckpts: its.reverse().map((it) => path.join(dir, checkpointName(it))),
        run: dir === p ? path.dirname(p) : p,
      };
  }
  throw new UserError(
    `--checkpoint: no checkpoint in ${p}; give a ckpt_* directory, a checkpoints directory or a dcgan train --output`,
  );
}

const m3 = (m: Metrics): string =>
  `KID ${m.kid.mean.toFixed(4)} ± ${m.kid.std.toFixed(4)}  FID ${m.fid.toFixed(2)}  precision ${m.precision.toFixed(3)}  recall ${m.recall.toFixed(3)}`;

function summary(row: CurveRow, c: Curve): string {
  const cpu = row.cpuMinutes === null ? '' : `, ${row.cpuMinutes.toFixed(1)} CPU-min`;
  const genres = row.genres?.length
    ? `; genre share generated/real ${row.genres.map((g) => `${g.genre} ${g.generated === null ? '-' : g.generated.toFixed(2)}/${g.real === null ? '-' : g.real.toFixed(2)}`).join(' ')}`
    : '';
  return `${path.basename(row.checkpoint)} (iteration ${row.iteration}${cpu}): ${m3(row)}  |  real vs real: ${m3(c.scale.realVsReal)}  |  noise: KID ${c.scale.noise.kid.mean.toFixed(3)} FID ${c.scale.noise.fid.toFixed(1)}  |  ${row.n} generated vs ${c.scale.reference} real, features ${c.key.featureNet} (${c.featureDim}-d)${genres}`;
}

export function configureEval(cmd: Command): Command {
  return addFlags(cmd, evalFlags).action(async () => {
    const o = readFlags(cmd, evalFlags);
    const log = (line: string): void => void process.stderr.write(line + '\n');
    const { ckpts, run } = await targets(o.checkpoint);
    const realDir = o.real ?? defaultRealDir();
    if (!realDir)
      throw new UserError(
        '--real: no real posters; pass --real <poster dir> (or run prepare-dcgan to fill data/dcgan)',
      );
    const cpuLog = o.cpu_log ? await readCpuLog(o.cpu_log) : null;
    await initBackend(o.backend);
    // The newest checkpoint (or exported generator) first: its size decodes the real posters, and a bad --genres fails at once.
    const probe = await openSampler(ckpts[ckpts.length - 1]!);
    const config = probe.net.config;
    const genres = (() => {
      try {
        return checkGenres(probe.net, o.genres);
      } finally {
        probe.dispose();
      }
    })();
    const net = await openFeatureNet(o.model);
    const real = await loadRealPosters(realDir, config.width, config.height, log);
    const bn = o.bn_stats as BnMode;
    const key: CurveKey = {
      featureNet: net.id,
      real: path.resolve(realDir),
      realCount: real.images.length,
      count: o.count,
      seed: o.seed,
      bn,
    };
    const outDir = run ? o.output || run : o.output;
    // Someone else's eval.json/eval.csv in the folder is refused before any work, never replaced.
    const curveFiles = outDir ? [EVAL_JSON, EVAL_CSV].map((f) => path.join(outDir, f)) : [];
    for (const f of curveFiles) await checkFile(f, '--output');
    const rows = outDir && !o.fresh ? await readCurve(path.join(outDir, EVAL_JSON), key) : [];
    log(
      `eval: ${real.images.length} real posters from ${realDir} at ${config.width}x${config.height}${real.skipped.length ? ` (${real.skipped.length} unreadable skipped)` : ''}; features ${net.id}`,
    );
    const { ref, scale } = await prepareScale(net, real, o.count, o.seed);
    const curve: Curve = {
      version: EVAL_VERSION,
      key,
      featureDim: ref.set.dim,
      realSkipped: real.skipped.length,
      scale,
      rows,
    };
    const done = new Set(rows.map((r) => path.resolve(r.checkpoint)));
    for (const ck of ckpts) {
      if (done.has(path.resolve(ck))) continue;
      // A training run beside this eval rotates its checkpoints: one listed a minute ago may be
      // gone now. That is no reason to lose the rest of the curve; a damaged one still is.
      const s = await openSampler(ck).catch(async (e: unknown) => {
        if (run && !(await exists(ck))) return null;
        throw e;
      });
      if (!s) {
        log(`eval: skipped ${path.basename(ck)}: removed while this eval ran (the run rotates its checkpoints)`);
        continue;
      }
      try {
        // Before the minute of sampling, while the folder is surely still there.
        const mtime = (await fs.stat(path.join(ck, 'state.json'))).mtimeMs / 1000;
        const metrics = await evaluateState(net, ref, s.net, real, o.count, o.seed, bn);
        const row: CurveRow = {
          checkpoint: ck,
          iteration: s.iteration,
          cpuMinutes: cpuLog ? cpuMinutesAt(cpuLog, mtime) : null,
          ...metrics,
        };
        if (genres.length) row.genres = await genreShares(net, s.net, real, genres, o.genre_count, o.seed, bn);
        curve.rows.push(row);
        curve.rows.sort((a, b) => a.iteration - b.iteration);
        if (outDir) {
          for (const f of curveFiles) await claimFile(f, '--output');
          await writeCurve(outDir, curve);
        }
        if (run && !o.json) log(summary(row, curve));
      } finally {
        s.dispose();
      }
    }
    if (o.json) process.stdout.write(JSON.stringify(curve, null, 1) + '\n');
    else if (!run) process.stdout.write(summary(curve.rows[curve.rows.length - 1]!, curve) + '\n');
    else
      process.stdout.write(`${curve.rows.length} checkpoints in ${path.join(outDir, EVAL_CSV)} (features ${net.id})\n`);
  });
}
