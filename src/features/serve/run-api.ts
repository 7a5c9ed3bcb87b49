/**
 * The Runs tab: a `dcgan train` output folder read through the report's readers (grids with
 * their sidecars, losses.csv, fid.json, eval.json and kid.csv, the video) and drawn with the report's charts. Grid
 * images and the video are addressed by position in that scan, never by a path from the client.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { readSamplesDir } from '../report/inputs.js';
import { fidSection, lossesSection } from '../report/sections.js';
import { qualitySection } from '../report/quality-section.js';
import { HttpError } from './http-error.js';

function requireSamples(dir: string | null): string {
  if (!dir) throw new HttpError(409, 'no run folder: start serve with --samples <dcgan train output>');
  return dir;
}

export async function runSummary(dir: string | null) {
  const samples = requireSamples(dir);
  const inputs = await readSamplesDir(samples);
  const quality = qualitySection(inputs.quality);
  return {
    dir: samples,
    grids: inputs.grids.map((g, i) => ({ iteration: g.iteration, url: `/api/run/grid/${i}` })),
    losses: lossesSection(inputs.losses, inputs.grids).body,
    fid: fidSection(inputs.fid).body,
    // The intro names the feature network's role and the scale: kept with the charts.
    quality: quality.body === null ? null : `<p class="note">${quality.intro ?? ''}</p>${quality.body}`,
    video: inputs.video ? '/api/run/video' : null,
    problems: inputs.problems,
  };
}

export async function runGrid(dir: string | null, n: number): Promise<Buffer> {
  const inputs = await readSamplesDir(requireSamples(dir));
  const g = inputs.grids[n];
  if (!g) throw new HttpError(404, `no grid ${n}: the run has ${inputs.grids.length}`);
  return fs.readFile(g.file);
}

/** The video, with byte ranges so the browser can seek. */
export async function sendVideo(
  dir: string | null,
  range: string | undefined,
  res: ServerResponse,
  headers: Record<string, string>,
): Promise<void> {
  const inputs = await readSamplesDir(requireSamples(dir));
  if (!inputs.video) throw new HttpError(404, 'the run has no video yet: run dcgan render');
  const size = (await fs.stat(inputs.video)).size;
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
  let [start, end] = [0, size - 1];
  if (m && (m[1] || m[2])) {
    start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
    end = m[1] && m[2] ? Math.min(size - 1, Number(m[2])) : size - 1;
    if (start > end || start >= size)
      throw new HttpError(416, `range ${range} is outside the video's ${size} bytes`, {
        'Content-Range': `bytes */${size}`,
      });
  }
  const partial = Boolean(m);
  res.writeHead(partial ? 206 : 200, {
    ...headers,
    'Content-Type': 'video/mp4',
    'Accept-Ranges': 'bytes',
    'Content-Length': String(end - start + 1),
    ...(partial ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(inputs.video!, { start, end });
    s.on('error', reject);
    res.on('close', () => (s.destroy(), resolve()));
    s.pipe(res);
  });
}
