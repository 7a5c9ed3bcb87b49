/**
 * Finding what to score in `classify samples/`: sample grids (with a sidecar, or cut by
 * `--grid RxC`), single images, and everything else, which is reported and skipped. Only
 * headers are read here, so a directory of thousands of posters costs no memory; pixels are
 * decoded one file at a time when scored (a file that fails then is reported the same way).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../core/errors.js';
import { inferGeometry, gridSize, type GridGeometry } from '../../core/images/grid.js';
import {
  MAX_INPUT_PIXELS,
  readImageFile,
  srgbPipeline,
  type RgbImage,
  ImageDecodeError,
} from '../../core/images/decode.js';
import { iterationFromName, readSidecar, sidecarPathFor } from '../../artifacts/grid-sidecar.js';

export interface GridSource {
  kind: 'grid';
  file: string;
  geometry: GridGeometry;
  /** Where the geometry came from. */
  from: 'sidecar' | '--grid';
  iteration: number | null;
  epoch: number | null;
  losses: { d: number; g: number } | null;
}

export interface SingleSource {
  kind: 'single';
  file: string;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface SampleScan {
  /** In training order (iteration, then name). */
  grids: GridSource[];
  singles: SingleSource[];
  skipped: SkippedFile[];
  /** Things a user should know that are not errors (e.g. a grid scored whole for want of geometry). */
  notes: string[];
}

export interface ScanOptions {
  /** `--grid RxC`: geometry for images that have no sidecar. */
  grid?: { rows: number; cols: number };
}

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

/**
 * Files the studio itself writes beside the grids: not images, not worth a warning.
 * (Sidecars are recognised by their image, not by name.)
 */
const KNOWN_OUTPUTS =
  /^(losses\.csv|classify\.(json|csv)|fid\.(json|csv)|eval\.(json|csv)|kid\.csv|.*\.mp4|.*\.tmp|\..*)$/i;

/** `6x10` → 6 rows of 10 columns (grid_height x grid_width, as `dcgan train` names them). */
export function parseGridSpec(spec: string): { rows: number; cols: number } {
  const m = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/i.exec(spec);
  const rows = m ? Number(m[1]) : 0;
  const cols = m ? Number(m[2]) : 0;
  if (!m || rows < 1 || cols < 1 || rows * cols > 10_000) {
    throw new UserError(`--grid takes ROWSxCOLS such as 6x10 (grid_height x grid_width), got '${spec}'`);
  }
  return { rows, cols };
}

async function imageSize(file: string): Promise<{ width: number; height: number }> {
  const meta = await sharp(await readImageFile(file), { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  if (!meta.width || !meta.height) throw new Error('no image size in header');
  return { width: meta.width, height: meta.height };
}

/** Decodes a whole image at its own size (grids must not be resized before they are cut). */
export async function loadImage(file: string): Promise<RgbImage> {
  try {
    const { data, info } = await srgbPipeline(await readImageFile(file))
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    throw new ImageDecodeError(file, (err as Error).message.split('\n')[0] ?? 'unknown error');
  }
}

function undecodable(file: string, err: unknown): SkippedFile {
  const ext = path.extname(file).toLowerCase();
  const why = ((err as Error).message ?? String(err)).split('\n')[0]!;
  return IMAGE_EXTENSIONS.has(ext) ? { file, reason: `broken image (${why})` } : { file, reason: 'not an image' };
}

/** A .json beside an image of the same stem is that image's sidecar. */
function isSidecar(file: string): boolean {
  if (!file.toLowerCase().endsWith('.json')) return false;
  const stem = file.slice(0, -5);
  return [...IMAGE_EXTENSIONS].some((ext) => existsSync(stem + ext));
}

/** Lists the candidate files of the given paths: files as given, directories one level deep. */
async function listFiles(inputs: readonly string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = await fs.stat(input);
    } catch {
      missing.push(input);
      continue;
    }
    if (st.isFile()) {
      // `classify samples/*` expands to sidecars and losses.csv too: the same files a directory scan passes over.
      const name = path.basename(input);
      if (KNOWN_OUTPUTS.test(name) || isSidecar(input)) continue;
      files.push(input);
      continue;
    }
    if (!st.isDirectory()) continue;
    const entries = await fs.readdir(input, { withFileTypes: true });
    const names = entries.filter((e) => e.isFile() && !KNOWN_OUTPUTS.test(e.name)).map((e) => e.name);
    const present = new Set(names);
    for (const name of names.sort()) {
      // A .json beside an image of the same stem is that image's sidecar.
      if (name.toLowerCase().endsWith('.json')) {
        const stem = name.slice(0, -5);
        if ([...IMAGE_EXTENSIONS].some((ext) => present.has(stem + ext))) continue;
      }
      files.push(path.join(input, name));
    }
  }
  return { files, missing };
}

export async function scanSamples(inputs: readonly string[], opts: ScanOptions = {}): Promise<SampleScan> {
  const { files, missing } = await listFiles(inputs);
  if (missing.length) throw new UserError(`${missing.join(', ')}: no such file or directory`);
  const scan: SampleScan = { grids: [], singles: [], skipped: [], notes: [] };
  for (const file of files) {
    let size: { width: number; height: number };
    try {
      size = await imageSize(file);
    } catch (err) {
      scan.skipped.push(undecodable(file, err));
      continue;
    }
    const side = await readSidecar(file);
    if (side.kind === 'ok') {
      const g = side.sidecar.geometry;
      const want = gridSize(g);
      if (want.width !== size.width || want.height !== size.height) {
        scan.skipped.push({
          file,
          reason: `is ${size.width}x${size.height} but its sidecar ${path.basename(side.file)} describes ${g.rows}x${g.cols} cells of ${g.cellWidth}x${g.cellHeight} with gap ${g.gap} (${want.width}x${want.height})`,
        });
        continue;
      }
      const { iteration, epoch, losses } = side.sidecar;
      scan.grids.push({
        kind: 'grid',
        file,
        geometry: g,
        from: 'sidecar',
        iteration: iteration ?? iterationFromName(file),
        epoch,
        losses,
      });
      continue;
    }
    if (opts.grid) {
      const g = inferGeometry(size.width, size.height, opts.grid.rows, opts.grid.cols);
      if (g) {
        scan.grids.push({
          kind: 'grid',
          file,
          geometry: g,
          from: '--grid',
          iteration: iterationFromName(file),
          epoch: null,
          losses: null,
        });
        continue;
      }
    }
    if (side.kind === 'bad') {
      scan.skipped.push({
        file,
        reason: `sidecar ${path.basename(side.file)} is unreadable (${side.reason}); pass --grid ROWSxCOLS to split it anyway`,
      });
      continue;
    }
    if (/^grid[_-]/i.test(path.basename(file)) && !opts.grid) {
      scan.notes.push(
        `${file}: no sidecar ${path.basename(sidecarPathFor(file))}; scored as one image (pass --grid ROWSxCOLS, e.g. --grid 6x10, to split it)`,
      );
    } else if (opts.grid && /^grid[_-]/i.test(path.basename(file))) {
      scan.notes.push(
        `${file}: ${size.width}x${size.height} does not split into ${opts.grid.rows}x${opts.grid.cols} equal cells; scored as one image`,
      );
    }
    scan.singles.push({ kind: 'single', file });
  }
  scan.grids.sort((a, b) => (a.iteration ?? -1) - (b.iteration ?? -1) || a.file.localeCompare(b.file));
  return scan;
}
