/**
 * `poster-studio report`: gathers what the other commands produced and writes one HTML page.
 * Anything missing (no grids yet, no classifier, no video) turns into a one-line hint in its
 * section; the page is always written.
 */
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { checkFile, claimFile, writeOwnedFile } from '../../core/fs/ownership.js';
import { loadImage, type GridSource } from '../scoring/scan.js';
import type { GenreMix, GridScores } from '../../artifacts/classify-json.js';
import { genreMix, scoreSamples, type ScoreFn } from '../scoring/score.js';
import { listRealPosters, pickSeeded } from '../scoring/real.js';
import type { ModelInput } from '../../artifacts/classifier-model.js';
import { resizeRgb } from '../../core/images/resize.js';
import type { RgbImage } from '../../core/images/decode.js';
import { dataUri, heatmapOverlay, rgbAsPngUri } from './images.js';
import { readSamplesDir, thin, type ModelInfo } from './inputs.js';
import { renderPage, type SectionHtml } from './page.js';
import * as S from './sections.js';
import { qualitySection } from './quality-section.js';
import { escapeHtml } from '../../core/escape.js';
import { formatSkipped, skippedListText, type SkippedItem } from '../../core/skipped.js';

/** Beside the page and named after it, so two reports in one folder keep their own lists. */
export const skippedListPath = (output: string): string =>
  path.join(path.dirname(output), `${path.basename(output, path.extname(output))}-skipped.txt`);

/** What the report needs from a classifier; the CLI builds it from whichever model it loaded. */
export interface ReportModel {
  name: string;
  dir: string;
  genres: string[];
  score: ScoreFn;
  input?: ModelInput;
  saliency?: (images: RgbImage[], genre: string) => Promise<Float32Array[]>;
}

export interface ReportOptions {
  samplesDir: string;
  output: string;
  video?: string;
  /** Where eval.json is when not in samplesDir (dcgan eval --output elsewhere). */
  evalDir?: string;
  model: ReportModel | null;
  /** Why there is no model (shown where a section needs one): HTML, its file names already escaped. */
  modelNote: string;
  modelInfo: ModelInfo | null;
  realDir: string | null;
  realCount: number;
  saliencyPosters: number;
  seed: number;
  /** Title and true genres of a real poster file (from MovieGenre.csv), for the saliency captions. */
  describe?: (file: string) => { title: string; genres: string[] } | null;
  /** Videos up to this size are embedded; bigger ones are copied beside the page. */
  maxVideoBytes?: number;
  log?: (line: string) => void;
}

export interface ReportResult {
  output: string;
  sections: { id: string; available: boolean }[];
  bytes: number;
}

async function videoSource(
  video: string | null,
  output: string,
  maxBytes: number,
): Promise<{ src: string | null; note: string }> {
  if (!video) return { src: null, note: '' };
  const size = statSync(video).size;
  if (size <= maxBytes) {
    return {
      src: dataUri(await fs.readFile(video), 'video/mp4'),
      note: `${video} (${(size / 1e6).toFixed(1)} MB), embedded in the page.`,
    };
  }
  // Too big to inline comfortably: copied beside the page and linked relatively, so the pair moves together.
  const target = path.join(path.dirname(output), path.basename(video));
  if (path.resolve(target) !== path.resolve(video)) {
    await claimFile(target, '--output');
    await fs.copyFile(video, target);
  }
  return {
    src: encodeURI(path.basename(target)),
    note: `${video} (${(size / 1e6).toFixed(1)} MB), copied beside the report as ${path.basename(target)}; keep the two files together.`,
  };
}

async function realMix(
  model: ReportModel,
  files: string[],
  skip: (file: string, reason: string) => void,
): Promise<GenreMix | null> {
  const cells: { scores: Record<string, number> }[] = [];
  for (let i = 0; i < files.length; i += 16) {
    const imgs: RgbImage[] = [];
    for (const f of files.slice(i, i + 16)) {
      try {
        imgs.push(await loadImage(f));
      } catch {
        skip(f, 'cannot decode');
      }
    }
    if (imgs.length) for (const s of await model.score(imgs)) cells.push({ scores: s });
  }
  return cells.length ? genreMix(cells, model.genres) : null;
}

/** Share of the posters whose movie has each genre; null unless most of them are known. */
function truthShare(
  files: readonly string[],
  genres: readonly string[],
  describe: ReportOptions['describe'],
): Record<string, number> | null {
  if (!describe) return null;
  const known = files.map((f) => describe(f)).filter((m): m is { title: string; genres: string[] } => m !== null);
  if (known.length < Math.max(1, files.length / 2)) return null;
  return Object.fromEntries(genres.map((g) => [g, known.filter((m) => m.genres.includes(g)).length / known.length]));
}

async function saliencyRows(
  model: ReportModel,
  files: string[],
  describe: ReportOptions['describe'],
  skip: (file: string, reason: string) => void,
): Promise<S.SaliencyRow[]> {
  const input = model.input!;
  const posters: { file: string; img: RgbImage }[] = [];
  for (const f of files) {
    try {
      posters.push({ file: f, img: await resizeRgb(await loadImage(f), input.width, input.height) });
    } catch {
      skip(f, 'cannot decode'); // its row is left out
    }
  }
  if (!posters.length) return [];
  const imgs = posters.map((p) => p.img);
  const scores = await model.score(imgs);
  const rows: S.SaliencyRow[] = [];
  for (const p of posters)
    rows.push({ file: p.file, original: await rgbAsPngUri(p.img), maps: [], movie: describe?.(p.file) ?? null });
  for (const g of model.genres) {
    const maps = await model.saliency!(imgs, g);
    for (const [i, m] of maps.entries())
      rows[i]!.maps.push({ genre: g, uri: await rgbAsPngUri(heatmapOverlay(imgs[i]!, m)), score: scores[i]![g] ?? 0 });
  }
  return rows;
}

export async function buildReport(
  o: ReportOptions,
): Promise<{ html: string; sections: SectionHtml[]; skipped: SkippedItem[] }> {
  const log = o.log ?? (() => undefined);
  // By file: the genre mix and the saliency rows can both meet the same broken poster.
  const skipped = new Map<string, string>();
  const skip = (file: string, reason: string) => void skipped.set(file, reason);
  const inputs = await readSamplesDir(o.samplesDir, o.video, o.evalDir);
  for (const p of [...inputs.problems, ...(o.modelInfo?.problems ?? [])]) log(`report: ${p}`);
  const latest: GridSource | null = inputs.grids[inputs.grids.length - 1] ?? null;
  const noModel = o.modelNote;

  // Genre scores of the grids: classify.json when it covers the latest grid, else scored now.
  let history: GridScores[] = inputs.scores?.grids ?? [];
  let latestScores = latest
    ? (history.find((g) => path.basename(g.file) === path.basename(latest.file)) ?? null)
    : null;
  if (latest && !latestScores && o.model) {
    log('report: scoring the saved grids with the classifier');
    const picked = thin(inputs.grids, 8);
    const scored = await scoreSamples({ grids: picked, singles: [], skipped: [], notes: [] }, o.model.score);
    history = scored.grids;
    latestScores = history.find((g) => g.file === latest.file) ?? null;
  }
  const genres = o.model?.genres ?? inputs.scores?.genres ?? [];

  let real: S.RealMix | null = null;
  let realFiles: string[] = [];
  let realWhy = noModel;
  if (o.realDir) {
    try {
      realFiles = await listRealPosters(o.realDir);
    } catch {
      realWhy = `${escapeHtml(o.realDir)} cannot be read`;
    }
    if (!realFiles.length)
      realWhy = `no posters in ${escapeHtml(o.realDir)}; run <code>get-data</code> or <code>prepare-dcgan</code>`;
  } else {
    realWhy = 'no real posters found (data/dcgan or data/posters); run <code>prepare-dcgan</code> or pass --real';
  }
  if (o.model && realFiles.length) {
    log(`report: scoring ${Math.min(o.realCount, realFiles.length)} real posters`);
    const picked = pickSeeded(realFiles, o.realCount, o.seed, 'report-real');
    const model = o.model;
    const mix = await realMix(model, picked, skip);
    if (mix)
      real = {
        mix,
        count: Math.min(o.realCount, realFiles.length),
        dir: o.realDir!,
        truth: truthShare(picked, model.genres, o.describe),
      };
  }

  let saliency: S.SaliencyRow[] | null = null;
  let salWhy = !o.model ? noModel : !realFiles.length ? realWhy : 'the loaded classifier gives no input gradients';
  if (o.model?.saliency && o.model.input && realFiles.length && o.saliencyPosters > 0) {
    log(`report: saliency maps for ${o.saliencyPosters} posters x ${o.model.genres.length} genres`);
    try {
      saliency = await saliencyRows(
        o.model,
        pickSeeded(realFiles, o.saliencyPosters, o.seed, 'report-saliency'),
        o.describe,
        skip,
      );
    } catch (err) {
      salWhy = `saliency failed (${escapeHtml((err as Error).message.split('\n')[0]!)})`;
    }
  }

  const vid = await videoSource(inputs.video, o.output, o.maxVideoBytes ?? 25_000_000);
  const sections: SectionHtml[] = [
    await S.gridsSection(inputs.grids, inputs.fid),
    S.videoSection(vid.src, vid.note),
    S.lossesSection(inputs.losses, inputs.grids),
    S.fidSection(inputs.fid),
    qualitySection(inputs.quality),
    await S.postersSection(
      latest,
      latestScores,
      o.model ? 'the classifier could not score it' : `${noModel}, then <code>classify samples/</code>`,
    ),
    S.mixSection(genres, latestScores?.mix ?? null, real, history, real || latestScores ? realWhy : noModel),
    S.metricsSection(o.modelInfo),
    S.saliencySection(saliency, salWhy),
  ];
  const subtitle = [
    `samples: ${escapeHtml(path.resolve(o.samplesDir))} · ${inputs.grids.length} grid${inputs.grids.length === 1 ? '' : 's'}`,
    `classifier: ${o.model ? `${escapeHtml(o.model.name)} (${escapeHtml(o.model.genres.join(', '))})` : `none (${noModel})`}`,
    `generated ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC`,
  ];
  return {
    html: renderPage('Poster Studio report', subtitle, sections),
    sections,
    skipped: [...skipped].map(([file, reason]) => ({ file, reason })),
  };
}

export async function writeReport(o: ReportOptions): Promise<ReportResult> {
  await fs.mkdir(path.dirname(path.resolve(o.output)), { recursive: true });
  // Refused before the work when --output is someone else's file.
  await checkFile(o.output, '--output');
  const { html, sections, skipped } = await buildReport(o);
  await writeOwnedFile(o.output, html, '--output');
  if (skipped.length) {
    const list = skippedListPath(o.output);
    await writeOwnedFile(list, skippedListText(skipped), '--output');
    for (const l of formatSkipped(skipped, 'report', list)) (o.log ?? (() => undefined))(l);
  }
  return {
    output: o.output,
    sections: sections.map((s) => ({ id: s.id, available: s.body !== null })),
    bytes: Buffer.byteLength(html),
  };
}
