/**
 * What `poster-studio serve` needs, tiny and made in a moment: a conditional generator
 * checkpoint (seeded initial weights, no training: the server's plumbing is under test, not the
 * GAN), a tiny saved classifier, a fake run folder, and real-looking poster uploads.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeJpeg } from '../../src/core/images/decode.js';
import { createRng } from '../../src/core/random.js';
import { collect, startCli, type CliResult } from './run-cli.js';
import { FAKE_GENRES, flatImage, writeFakeQuality, writeFakeSamples, writeTinyClassifier } from './samples-fixture.js';
import { tempDir } from './temp-dir.js';

export const GEN_GENRES = ['Drama', 'Horror', 'Action'];
export const GEN_DECADES = [1970, 1980, 1990];

export const SERVE_CLASSIFIER_NAME = 'tiny-genres-v1';

export interface ServeFixture {
  root: string;
  modelDir: string;
  checkpoint: string;
  samples: string;
  /** A 120x180 JPEG poster with structure (light top, dark bottom). */
  poster: Buffer;
}

export async function makeServeFixture(): Promise<ServeFixture> {
  const { initBackend } = await import('../../engine/backend.js');
  const { createState, disposeState } = await import('../../dcgan/state.js');
  const { saveCheckpoint } = await import('../../dcgan/checkpoint.js');
  const { tinyConfig, tinyTrain } = await import('./dcgan-fixture.js');
  await initBackend('cpu', true);
  const root = await tempDir('serve');
  const modelDir = await writeTinyClassifier(path.join(root, 'models', 'tiny'), FAKE_GENRES, { width: 16, height: 24 });
  // A name of its own, unlike its folder's: the page must show the model's (SERVE_CLASSIFIER_NAME).
  const metaFile = path.join(modelDir, 'metadata.json');
  const meta = JSON.parse(await fs.readFile(metaFile, 'utf8'));
  await fs.writeFile(metaFile, JSON.stringify({ ...meta, name: SERVE_CLASSIFIER_NAME }));
  const config = { ...tinyConfig(16, 24), condition: { genres: GEN_GENRES, decades: GEN_DECADES } };
  const train = tinyTrain(2, 3);
  const cd = GEN_GENRES.length + GEN_DECADES.length;
  const s = createState(config, 7, train, new Float32Array(6 * config.zDim), new Float32Array(6 * cd), 12);
  const checkpoint = await saveCheckpoint(s, path.join(root, 'samples', 'checkpoints'), 1);
  disposeState(s);
  const samples = path.join(root, 'samples');
  await writeFakeSamples(samples, { iterations: [10, 20, 30] });
  await writeFakeQuality(samples, { cpuMinutes: true });
  // Seeded noise over two colour blocks: big enough that a cut-off copy keeps its JPEG headers.
  const [w, h] = [120, 180];
  const img = flatImage(w, h, [40, 40, 90]);
  const rng = createRng(1, 'serve-poster');
  for (let p = 0; p < w * h; p++) {
    const top = p < (w * h) / 2;
    for (let c = 0; c < 3; c++)
      img.data[p * 3 + c] = Math.max(
        0,
        Math.min(255, (top ? [230, 200, 60][c]! : img.data[p * 3 + c]!) + (rng.next() - 0.5) * 80),
      );
  }
  return { root, modelDir, checkpoint, samples, poster: await encodeJpeg(img) };
}

export async function removeServeFixture(f: ServeFixture): Promise<void> {
  await fs.rm(f.root, { recursive: true, force: true });
}

/** Starts serve, waits for its listening line, runs `use`, then sends `signal` and collects the exit. */
export async function serveThen(
  args: string[],
  signal: NodeJS.Signals,
  use: (port: number) => Promise<void>,
  cwd?: string,
): Promise<CliResult> {
  const child = startCli(['serve', '--port', '0', ...args], cwd ? { cwd } : {});
  const done = collect(child, 90_000);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer | string) => {
        out += String(d);
        const m = /^listening on http:\/\/(?:127\.0\.0\.1|0\.0\.0\.0):(\d+)$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('close', () => reject(new Error(`serve exited before listening: ${out}`)));
    });
    await use(port);
  } finally {
    child.kill(signal);
  }
  return done;
}
