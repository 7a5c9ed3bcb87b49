/**
 * The training video: every grid of a run, in iteration order, one frame each, captioned with
 * its iteration (and epoch and losses when the sidecar has them).
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../src/core/errors.js';
import { renderVideo, type RenderResult } from '../src/features/video/render.js';
import { listGrids } from './grids.js';

export interface TrainingVideoOptions {
  input: string;
  output: string;
  seconds: number;
  resolution: { width: number; height: number } | null;
  caption: boolean;
}

async function captionFor(file: string, iteration: number): Promise<string> {
  try {
    const j = JSON.parse(await fs.readFile(file.replace(/\.png$/, '.json'), 'utf8')) as { epoch?: number; losses?: { d: number; g: number } | null };
    const parts = [`iteration ${iteration}`];
    if (typeof j.epoch === 'number') parts.push(`epoch ${j.epoch}`);
    if (j.losses && Number.isFinite(j.losses.d) && Number.isFinite(j.losses.g)) parts.push(`D ${j.losses.d.toFixed(2)} G ${j.losses.g.toFixed(2)}`);
    return parts.join('  ');
  } catch {
    return `iteration ${iteration}`;
  }
}

export async function renderTrainingVideo(o: TrainingVideoOptions): Promise<RenderResult> {
  const grids = await listGrids(o.input);
  if (!grids.length) throw new UserError(`${o.input} has no grid_*.png; run dcgan train first or pass --input`);
  const captions = o.caption ? await Promise.all(grids.map((g) => captionFor(g.file, g.iteration))) : null;
  return renderVideo({ frames: grids.map((g) => g.file), output: o.output, seconds: o.seconds, resolution: o.resolution, captions });
}
