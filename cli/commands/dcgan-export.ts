/**
 * `dcgan export --checkpoint <ckpt | run> --output <dir>`: the generator alone, for shipping
 * (models/default/generator) or handing to someone who only generates.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../src/core/errors.js';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { withLocks } from '../../src/core/fs/lock.js';
import { DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { initBackend } from '../../engine/index.js';
import { exportGenerator } from '../../dcgan/export.js';

const PRECISIONS = { fp16: 'float16', fp32: 'float32' } as const;

export const exportFlags = defineFlags({
  checkpoint: {
    kind: 'path',
    default: DEFAULT_SAMPLES,
    exists: 'dir',
    help: 'a ckpt_* directory (exported as is), or a checkpoints directory or dcgan train --output: its <checkpoints>/best (the lowest KID of --eval_every) when there is one, else its newest checkpoint',
  },
  output: {
    kind: 'path',
    short: '-o',
    help: 'the directory to write (state.json + tensors.bin), e.g. models/default/generator; replaced only when an earlier dcgan export wrote it',
  },
  precision: {
    kind: 'string',
    default: 'fp16',
    choices: Object.keys(PRECISIONS),
    help: 'how the weights are stored: fp16 halves the file (loaded back as fp32; posters differ from the checkpoint by float16 rounding), fp32 gives the same posters bit for bit',
  },
});

export function configureExport(cmd: Command): Command {
  return addFlags(cmd, exportFlags).action(async () => {
    const o = readFlags(cmd, exportFlags);
    const output = o.output;
    if (!output) throw new UserError('--output: give the directory to write, e.g. --output models/default/generator');
    // The engine only copies the checkpoint's tensors here: the plain cpu backend is enough, and quiet.
    await initBackend('cpu', true);
    // The directory is swapped whole, so its lock lives beside it.
    const r = await withLocks([{ path: output, kind: 'file' }], 'dcgan export', () =>
      exportGenerator({
        checkpoint: o.checkpoint,
        output,
        dtype: PRECISIONS[o.precision as keyof typeof PRECISIONS],
      }),
    );
    const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
    process.stdout.write(
      `exported ${r.weights === 'ema' ? "G's EMA weights" : "G's weights (the checkpoint keeps no EMA)"} of ${r.source} (${r.picked}, iteration ${r.iteration}) as ${r.dtype} to ${path.resolve(output)}: tensors.bin ${mb(r.bytes)} (the checkpoint's ${mb(r.sourceBytes)})\n`,
    );
  });
}
