/** `dcgan render`: a training run's sample grids as an H.264 MP4. */
import path from 'node:path';
import type { Command } from 'commander';
import { addFlags, defineFlags, readFlags } from '../../src/core/flags.js';
import { withLocks } from '../../src/core/fs/lock.js';
import { DEFAULT_SAMPLES } from '../../src/core/paths.js';
import { renderTrainingVideo } from '../../dcgan/video.js';
import { resolution, videoFlags } from './dcgan-train-flags.js';

export const renderFlags = defineFlags({
  input: {
    kind: 'path',
    default: DEFAULT_SAMPLES,
    exists: 'dir',
    short: '-i',
    help: 'directory with grid_*.png (a dcgan train --output)',
  },
  output: { kind: 'path', default: '', short: '-o', help: 'video file (empty = <input>/train.mp4)' },
  ...videoFlags,
});

export function configureRender(cmd: Command): void {
  addFlags(cmd, renderFlags).action(async () => {
    const o = readFlags(cmd, renderFlags);
    const output = o.output || path.join(o.input, 'train.mp4');
    const r = await withLocks([{ path: output, kind: 'file' }], 'dcgan render', () =>
      renderTrainingVideo({
        input: o.input,
        output,
        seconds: o.video_length,
        resolution: resolution(o.render_res),
        caption: o.caption,
      }),
    );
    process.stdout.write(
      `${r.output}: ${r.frames} frames at ${r.fps.toFixed(2)} fps, ${r.width}x${r.height}, H.264 yuv420p (ffmpeg: ${r.ffmpeg})\n`,
    );
  });
}
