/**
 * The training video: every grid of a run, in iteration order, one frame each, captioned with
 * its iteration (and epoch and losses when the sidecar has them).
 */
import { UserError } from '../src/core/errors.js';
import { renderVideo, type RenderResult } from '../src/features/video/render.js';
import { listGrids, readSidecar } from '../src/artifacts/grid-sidecar.js';

export interface TrainingVideoOptions {
  input: string;
  output: string;
  seconds: number;
  resolution: { width: number; height: number } | null;
  caption: boolean;
}

async function captionFor(file: string, iteration: number): Promise<string> {
  const side = await readSidecar(file);
  const parts = [`iteration ${iteration}`];
  if (side.kind !== 'ok') return parts[0]!;
  const { epoch, losses } = side.sidecar;
  if (epoch !== null) parts.push(`epoch ${epoch}`);
  if (losses) parts.push(`D ${losses.d.toFixed(2)} G ${losses.g.toFixed(2)}`);
  return parts.join('  ');
}

export async function renderTrainingVideo(o: TrainingVideoOptions): Promise<RenderResult> {
  const grids = await listGrids(o.input);
  if (!grids.length) throw new UserError(`${o.input} has no grid_*.png; run dcgan train first or pass --input`);
  const captions = o.caption ? await Promise.all(grids.map((g) => captionFor(g.file, g.iteration))) : null;
  return renderVideo({
    frames: grids.map((g) => g.file),
    output: o.output,
    seconds: o.seconds,
    resolution: o.resolution,
    captions,
  });
}
