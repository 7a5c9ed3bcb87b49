/**
 * Test mode (the fork's `main.py` without --train): load the newest checkpoint (or an exported
 * generator given as --checkpoint_dir) and write what the fork's visualize option writes, as
 * still images and an MP4 instead of GIFs:
 * - test/samples.png: a grid of new posters;
 * - test/arange_<d>.png for each latent dimension d: each row one random point, each column the
 *   same point with z[d] swept from -1 to 1 (what that dimension does to a poster);
 * - test/interpolation.mp4: every cell walks in straight lines through random latent points.
 * Batch norm uses the running averages of training, as the fork's sampler does.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../src/core/fs/atomic.js';
import { foreignFilesError, OwnedDir } from '../src/core/fs/ownership.js';
import { encodePng } from '../src/core/images/decode.js';
import { composeGrid, type GridGeometry } from '../src/core/images/grid.js';
import { tf } from '../engine/index.js';
import { renderVideo } from '../src/features/video/render.js';
import { loadCheckpoint } from './checkpoint.js';
import { resolveCheckpoint } from './generate.js';
import { gridConditions, uniformLatent } from './latent.js';
import { conditionDim } from './config.js';
import { encodeCondition } from './data.js';
import { isExportedGenerator, loadExportedGenerator } from './generator-file.js';
import { disposeNetworks, generator, type Networks } from './model.js';
import { GRID_GAP, toImages } from './grids.js';
import { disposeState, samplingNetworks } from './state.js';

export interface TestModeOptions {
  checkpoint: string;
  output: string;
  seed: number;
  /** Also the per-dimension sweeps and the interpolation video. */
  visualize: boolean;
  /** Interpolation video: length in seconds, random points visited, frames between two of them. */
  seconds: number;
  points: number;
  framesPerLeg: number;
  resolution: { width: number; height: number } | null;
}

export interface TestModeResult {
  checkpoint: string;
  iteration: number;
  samples: string;
  sweeps: string[];
  video: string | null;
}

/** What test mode samples with: the sampling networks, the sample grid and the grid's conditions. */
interface TestModel {
  net: Networks;
  iteration: number;
  rows: number;
  cols: number;
  fixedY: Float32Array | null;
  dispose(): void;
}

/**
 * A checkpoint's sampling networks (G's EMA when it keeps one, as generate, grids and eval use),
 * or an exported generator (the weights it kept) with its run's grid, whose conditions are
 * rebuilt as training built them.
 */
async function openTestModel(dir: string): Promise<TestModel> {
  if (await isExportedGenerator(dir)) {
    const { json, net } = await loadExportedGenerator(dir);
    const { rows, cols } = json.grid;
    const vocab = json.config.condition;
    const cd = conditionDim(json.config);
    const fixedY = vocab ? new Float32Array(rows * cols * cd) : null;
    if (vocab && fixedY)
      gridConditions(vocab, rows, cols).forEach((c, i) => encodeCondition(vocab, c.genres, c.decade, fixedY, i * cd));
    return { net, iteration: json.iteration, rows, cols, fixedY, dispose: () => disposeNetworks(net) };
  }
  const s = await loadCheckpoint(dir);
  const { rows, cols } = s.train;
  return {
    net: samplingNetworks(s),
    iteration: s.iteration,
    rows,
    cols,
    fixedY: s.fixedY,
    dispose: () => disposeState(s),
  };
}

function render(s: TestModel, z: Float32Array, n: number): Uint8Array[] {
  const c = s.net.config;
  const y = s.fixedY ? s.fixedY.length / (s.rows * s.cols) : 0;
  const px = tf.tidy(() => {
    const cond = s.fixedY ? tf.tensor2d(s.fixedY, [n, y]) : null;
    return generator(s.net, tf.tensor2d(z, [n, c.zDim]), cond, 'moving').dataSync() as Float32Array;
  });
  return toImages(px, n, c.width, c.height).map((i) => i.data);
}

async function writeGridPng(file: string, s: TestModel, z: Float32Array, g: GridGeometry): Promise<void> {
  const c = s.net.config;
  const images = render(s, z, g.rows * g.cols).map((data) => ({ width: c.width, height: c.height, data }));
  await writeFileAtomic(file, await encodePng(composeGrid(images, g)));
}

export async function testMode(o: TestModeOptions): Promise<TestModeResult> {
  const ckpt = await resolveCheckpoint(o.checkpoint);
  const s = await openTestModel(ckpt);
  try {
    const c = s.net.config;
    const { rows, cols } = s;
    const n = rows * cols;
    const g: GridGeometry = { rows, cols, cellWidth: c.width, cellHeight: c.height, gap: GRID_GAP };
    const dir = path.join(o.output, 'test');
    // Someone else's file under a name test mode writes stops it before anything is written.
    const owned = await OwnedDir.open(dir);
    const sweepName = (d: number): string => `arange_${String(d).padStart(3, '0')}.png`;
    const names = [
      'samples.png',
      'samples.json',
      ...(o.visualize ? Array.from({ length: c.zDim }, (_, d) => sweepName(d)) : []),
    ];
    const foreign = await owned.foreign([...names, 'interpolation.mp4']);
    if (foreign.length)
      throw foreignFilesError(
        dir,
        foreign,
        'dcgan test mode',
        'samples.png, samples.json, arange_*.png and interpolation.mp4',
        'move them away or choose another --sample_dir',
      );
    await owned.claim(names);
    const samples = path.join(dir, 'samples.png');
    await writeGridPng(samples, s, uniformLatent(o.seed, 'test', n, c.zDim), g);
    await writeJsonAtomic(path.join(dir, 'samples.json'), {
      iteration: s.iteration,
      ...g,
      seed: o.seed,
      z_dim: c.zDim,
      checkpoint: ckpt,
    });
    const result: TestModeResult = { checkpoint: ckpt, iteration: s.iteration, samples, sweeps: [], video: null };
    if (!o.visualize) return result;

    for (let d = 0; d < c.zDim; d++) {
      const base = uniformLatent(o.seed, `arange:${d}`, rows, c.zDim);
      const z = new Float32Array(n * c.zDim);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < cols; k++) {
          const at = (r * cols + k) * c.zDim;
          z.set(base.subarray(r * c.zDim, (r + 1) * c.zDim), at);
          z[at + d] = cols === 1 ? 0 : -1 + (2 * k) / (cols - 1);
        }
      }
      const file = path.join(dir, sweepName(d));
      await writeGridPng(file, s, z, g);
      result.sweeps.push(file);
    }

    const points = Array.from({ length: o.points }, (_, p) => uniformLatent(o.seed, `interpolation:${p}`, n, c.zDim));
    const stage = await fs.mkdtemp(path.join(dir, '.frames-'));
    try {
      const frames: string[] = [];
      for (let p = 0; p + 1 < points.length; p++) {
        for (let f = 0; f < o.framesPerLeg; f++) {
          const a = f / o.framesPerLeg;
          const z = points[p]!.map((v, i) => v * (1 - a) + points[p + 1]![i]! * a);
          const file = path.join(stage, `frame_${String(frames.length).padStart(6, '0')}.png`);
          await writeGridPng(file, s, z, g);
          frames.push(file);
        }
      }
      const video = path.join(dir, 'interpolation.mp4');
      await renderVideo({ frames, output: video, seconds: o.seconds, resolution: o.resolution });
      result.video = video;
    } finally {
      await fs.rm(stage, { recursive: true, force: true });
    }
    return result;
  } finally {
    s.dispose();
  }
}
