/** `dcgan generate`: posters and a grid from a checkpoint, by default this folder's run or the shipped generator. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { withLocks } from '../../src/core/fs/lock.js';
import { DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { initBackend } from '../../engine/index.js';
import { backendFlags } from '../backend-flag.js';
import { DEFAULT_TRAIN } from '../../dcgan/config.js';
import { chooseModel, SHIPPED_MODELS } from '../../src/artifacts/default-models.js';
import { CHECKPOINT_NAME } from '../../dcgan/checkpoint.js';
import { generate } from '../../dcgan/generate.js';

export const generateFlags = defineFlags({
  checkpoint: {
    kind: 'path',
    exists: 'dir',
    help: `a ckpt_* directory, a checkpoints directory (newest), a dcgan train --output or a dcgan export directory (default: ${path.join(DEFAULT_SAMPLES, 'checkpoints')} when it exists, else the shipped one in models/default/generator; a line says which)`,
  },
  output: {
    kind: 'path',
    default: 'generated',
    short: '-o',
    help: 'writes posters/poster_0001.png ... and grid.png (+ grid.json)',
  },
  count: { kind: 'int', default: 60, min: 1, max: 10000, help: 'posters to generate' },
  grid_width: { kind: 'int', default: DEFAULT_TRAIN.cols, min: 1, max: 100, help: 'columns of grid.png' },
  seed: { kind: 'int', default: 1, min: 0, help: 'seed of the latent vectors' },
  genre: {
    kind: 'list',
    default: [],
    arg: 'a,b',
    help: 'conditional models: genres to ask for (e.g. Horror or Action,Sci-Fi)',
  },
  decade: { kind: 'int', min: 1800, max: 2100, arg: 'year', help: 'conditional models: decade to ask for (e.g. 1980)' },
  bn_stats: {
    kind: 'string',
    default: 'moving',
    choices: ['moving', 'batch'],
    help: "batch norm: the running averages of training, or this batch's own statistics",
  },
  ...backendFlags,
});

/**
 * --checkpoint, else this directory's training run, else the shipped generator; `note` is the
 * one line saying which default was taken (null when the flag chose). The places it looks are
 * parameters so a test can point them at temp folders.
 */
export function generateCheckpoint(
  given: string | undefined,
  where = { samples: DEFAULT_SAMPLES, shipped: SHIPPED_MODELS },
): { dir: string; note: string | null } {
  if (given) return { dir: given, note: null };
  const own = path.join(where.samples, 'checkpoints');
  // A run killed before its first checkpoint leaves an empty folder: that is no model to fall back on.
  if (existsSync(own) && readdirSync(own).some((n) => CHECKPOINT_NAME.test(n)))
    return { dir: own, note: `generator: this folder's training run, ${own} (--checkpoint picks another)` };
  const choice = chooseModel('generator', undefined, '--checkpoint', where.shipped);
  if ('missing' in choice)
    throw new UserError(
      `--checkpoint: ${choice.missing}, and there is no ${own} here; train one (dcgan train) or pass --checkpoint <dir>`,
    );
  return { dir: choice.dir, note: `generator: ${choice.source}, ${choice.dir} (--checkpoint picks another)` };
}

export function configureGenerate(cmd: Command): void {
  addFlags(cmd, generateFlags).action(async () => {
    const o = readFlags(cmd, generateFlags);
    const { dir: checkpoint, note } = generateCheckpoint(o.checkpoint);
    if (note) process.stderr.write(`${note}\n`);
    await initBackend(o.backend);
    const r = await withLocks([{ path: o.output, kind: 'dir' }], 'dcgan generate', () =>
      generate({
        checkpoint,
        output: o.output,
        count: o.count,
        cols: o.grid_width,
        seed: o.seed,
        genres: o.genre,
        decade: o.decade === undefined ? null : Math.floor(o.decade / 10) * 10,
        bn: o.bn_stats as 'moving' | 'batch',
      }),
    );
    process.stdout.write(
      `${r.files.length} posters from ${r.checkpoint} (iteration ${r.iteration}) in ${path.dirname(r.files[0]!)}, grid ${r.grid}; mean pairwise L2 distance ${r.diversity.toFixed(2)}\n`,
    );
  });
}
