/**
 * `poster-studio synth`: the embedded default data, a synthetic poster set in the Kaggle layout,
 * generated deterministically from a seed (no download).
 */
import type { Command } from 'commander';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { createProgress } from '../../src/core/progress.js';
import { writeSyntheticSet } from '../../src/features/synthetic/generate.js';
import { withLocks } from '../../src/core/fs/lock.js';

export const synthFlags = defineFlags({
  output: { kind: 'path', default: 'data/synthetic', help: 'where MovieGenre.csv and posters/ are written' },
  count: { kind: 'int', default: 600, min: 1, max: 100000, help: 'number of movies (and posters)' },
  seed: { kind: 'int', default: 1, min: 0, help: 'the same seed gives the same CSV and the same pixels' },
  width: { kind: 'int', default: 182, min: 32, max: 2000, help: 'poster width in pixels (the Kaggle posters are 182)' },
  height: {
    kind: 'int',
    default: 268,
    min: 32,
    max: 3000,
    help: 'poster height in pixels (the Kaggle posters are 268)',
  },
});

export function configureSynth(cmd: Command): Command {
  addFlags(cmd, synthFlags).action(async () => {
    const o = readFlags(cmd, synthFlags);
    const started = Date.now();
    const progress = createProgress('synth', o.count);
    const r = await withLocks([{ path: o.output, kind: 'dir' }], 'synth', () =>
      writeSyntheticSet(o.output, { ...o, onPoster: (d) => progress.update(d) }),
    );
    progress.stop();
    const s = (Date.now() - started) / 1000;
    process.stdout.write(
      `synth: ${r.movies.length} movies in ${r.csv}, posters in ${r.posters} (${r.written} written, ${r.unchanged} unchanged) in ${s.toFixed(1)} s\n`,
    );
  });
  return cmd;
}
