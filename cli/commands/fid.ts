/**
 * `poster-studio fid --real <posters> --samples samples/`: poster-FID per saved grid, with the
 * real-vs-real and real-vs-noise numbers that say what the scale means. Writes fid.json and
 * fid.csv beside the grids (the report reads fid.json).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { computePosterFid, fidCsv } from '../../src/features/fid/poster-fid.js';
import { DEFAULT_EPS } from '../../src/features/fid/frechet.js';
import { checkFile, writeOwnedFile } from '../../src/core/fs/ownership.js';
import { writeFidJson } from '../../src/artifacts/fid-json.js';
import { DEFAULT_MODELS, DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { createProgress } from '../../src/core/progress.js';
import { formatSkipped, SKIPPED_LIST, skippedListText, type SkippedItem } from '../../src/core/skipped.js';
import { defaultRealDir, listRealPosters, pickSeeded } from '../../src/features/scoring/real.js';
import { parseGridSpec, scanSamples } from '../../src/features/scoring/scan.js';
import { newestClassifier, openGenreModel } from '../../src/artifacts/classifier-model.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';

export const fidFlags = defineFlags({
  real: {
    kind: 'path',
    exists: 'dir',
    help: 'real posters: a poster directory or the output of prepare-dcgan (default: data/dcgan, then data/posters)',
  },
  samples: {
    kind: 'path',
    default: DEFAULT_SAMPLES,
    exists: 'dir',
    help: 'output directory of dcgan train (grids + sidecars)',
  },
  model: { kind: 'path', exists: 'dir', help: 'classifier directory whose penultimate-layer features are compared' },
  models: {
    kind: 'path',
    default: DEFAULT_MODELS,
    help: 'where to find the newest classifier when --model is not given',
  },
  real_count: {
    kind: 'int',
    default: 1000,
    min: 8,
    max: 1000000,
    help: 'real posters used (split into two halves: reference and held out)',
  },
  noise_count: {
    kind: 'int',
    default: 200,
    min: 0,
    max: 100000,
    help: 'uniform-noise images for the real-vs-noise check (0: skip)',
  },
  grid: { kind: 'string', arg: 'RxC', help: 'geometry for grids without a sidecar, e.g. 6x10' },
  eps: {
    kind: 'float',
    default: DEFAULT_EPS,
    min: 0,
    help: 'ridge added to both covariances (few samples, many dimensions)',
  },
  seed: { kind: 'int', default: 1, help: 'which real posters and which halves' },
  ...backendFlags,
});

export function configureFid(cmd: Command): Command {
  addFlags(cmd, fidFlags).action(async () => {
    const o = readFlags(cmd, fidFlags);
    const grid = o.grid ? parseGridSpec(o.grid) : undefined;
    const realDir = o.real ?? defaultRealDir();
    if (!realDir)
      throw new UserError(
        'no real posters: pass --real <poster dir> (or run get-data / prepare-dcgan to fill data/posters or data/dcgan)',
      );
    const modelDir = o.model ?? (await newestClassifier(o.models));
    if (!modelDir)
      throw new UserError(
        `no trained classifier in ${o.models}; train one with 'poster-studio classifier train' or pass --model <dir>`,
      );
    // Refused before the work when fid.json or fid.csv there are someone else's.
    await checkFile(path.join(o.samples, 'fid.json'), '--samples');
    await checkFile(path.join(o.samples, 'fid.csv'), '--samples');
    await checkFile(path.join(o.samples, SKIPPED_LIST), '--samples');
    const allReal = await listRealPosters(realDir);
    if (allReal.length < 8)
      throw new UserError(`${realDir}: ${allReal.length} posters found; poster-FID needs at least 8`);
    const scan = await scanSamples([o.samples], { grid });
    for (const n of scan.notes) process.stderr.write(`note: ${n}\n`);
    const skipped: SkippedItem[] = [...scan.skipped];
    await initBackend(o.backend);
    const model = await openGenreModel(modelDir);
    const realFiles = pickSeeded(allReal, o.real_count, o.seed, 'fid-real');
    const cell = scan.grids[0]?.geometry;
    const progress = createProgress('fid', realFiles.length + o.noise_count + scan.grids.length, '{what}');
    const r = await computePosterFid({
      features: (imgs) => model.features(imgs),
      realFiles,
      grids: scan.grids,
      noiseCount: o.noise_count,
      noiseSize: cell
        ? { width: cell.cellWidth, height: cell.cellHeight }
        : { width: model.input.width, height: model.input.height },
      seed: o.seed,
      eps: o.eps,
      onSkip: (file, reason) => void skipped.push({ file, reason }),
      onProgress: (done, _total, what) => progress.update(done, { what }),
    });
    progress.stop();
    const json = await writeFidJson(o.samples, {
      model: modelDir,
      createdAt: new Date().toISOString(),
      ...r,
      real: { dir: realDir, ...r.real },
    });
    const csv = path.join(o.samples, 'fid.csv');
    await writeOwnedFile(csv, fidCsv(r), '--samples');
    if (skipped.length) {
      const list = path.join(o.samples, SKIPPED_LIST);
      await writeOwnedFile(list, skippedListText(skipped), '--samples');
      for (const l of formatSkipped(skipped, 'fid', list)) process.stderr.write(l + '\n');
    }
    const v = r.validation;
    process.stdout.write(
      `poster-FID on ${r.featureDim}-d penultimate features of ${model.name}; reference: ${r.real.reference} real posters from ${realDir}\n` +
        `  real vs real (disjoint halves, ${r.real.reference} vs ${r.real.heldOut}): ${v.realVsReal.toFixed(2)}\n` +
        (v.realVsRealAtGridSize !== null
          ? `  real vs real at grid size (${v.gridSize} posters): ${v.realVsRealAtGridSize.toFixed(2)}  (the floor for a grid)\n`
          : '') +
        (v.realVsNoise !== null ? `  real vs noise (${v.noiseCount} images): ${v.realVsNoise.toFixed(2)}\n` : ''),
    );
    if (!r.grids.length) process.stdout.write(`no sample grids in ${o.samples}; run 'dcgan train' to make some\n`);
    for (const g of r.grids)
      process.stdout.write(
        `  ${path.basename(g.file).padEnd(22)} iteration ${String(g.iteration ?? '?').padStart(7)}  FID ${g.fid.toFixed(2)}\n`,
      );
    process.stdout.write(`wrote ${json} and ${csv}\n`);
  });
  return cmd;
}
