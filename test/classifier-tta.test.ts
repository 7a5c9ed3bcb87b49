import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadClassifier, openGenreModel } from '../src/artifacts/classifier-model.js';
import { UserError } from '../src/core/errors.js';
import { createRng } from '../src/core/random.js';
import { predictBytes } from '../classifier/inference.js';
import { openFeatureNet } from '../src/features/fid/feature-net.js';
import { tf } from '../engine/tf.js';
import { initBackend } from '../engine/backend.js';
import { writeTinyClassifier } from './helpers/samples-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const [W, H] = [16, 24];
let root: string;

before(async () => {
  await initBackend('cpu', true);
  root = await tempDir('clf-tta-');
});
after(() => fs.rm(root, { recursive: true, force: true }));

/** Random bytes, so the poster and its mirror differ. */
function noisyPoster(seed: number): Uint8Array {
  const rng = createRng(seed, 'tta-poster');
  return Uint8Array.from({ length: W * H * 3 }, () => Math.floor(rng.next() * 256));
}

function mirror(img: Uint8Array): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let r = 0; r < H; r++)
    for (let c = 0; c < W; c++)
      for (let k = 0; k < 3; k++) out[(r * W + (W - 1 - c)) * 3 + k] = img[(r * W + c) * 3 + k]!;
  return out;
}

/** The bare model's sigmoid scores on one byte image, no wrapper involved. */
async function bare(model: tf.LayersModel, img: Uint8Array): Promise<number[]> {
  const x = tf.tensor4d(
    Float32Array.from(img, (v) => v / 255),
    [1, H, W, 3],
  );
  const y = model.predict(x) as tf.Tensor;
  const v = Array.from(await y.data());
  tf.dispose([x, y]);
  return v;
}

async function setMeta(dir: string, patch: Record<string, unknown>): Promise<void> {
  const file = path.join(dir, 'metadata.json');
  const meta = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  await fs.writeFile(file, JSON.stringify({ ...meta, ...patch }));
}

test('tta "flip": every genre score is the mean of the poster and its mirror; features and untagged models unchanged', async () => {
  const dir = await writeTinyClassifier(path.join(root, 'tiny'), ['A', 'B', 'C'], { width: W, height: H });
  const img = noisyPoster(3);
  const poster = { width: W, height: H, data: img };

  const plain = await loadClassifier(dir);
  assert.equal(plain.tta, 'none');
  const p = await bare(plain.model, img);
  const q = await bare(plain.model, mirror(img));
  assert.ok(
    p.some((v, j) => Math.abs(v - q[j]!) > 1e-4),
    'the mirror must score differently, or the test proves nothing',
  );
  const [s0] = await plain.score([poster]);
  plain.genres.forEach((g, j) => assert.ok(Math.abs(s0![g]! - p[j]!) < 1e-6, `no tta: ${g}`));
  const [f0] = await plain.features([poster]);
  const [sal0] = await plain.saliency([poster], 'A');

  await setMeta(dir, { tta: 'flip' });
  const flip = await loadClassifier(dir);
  assert.equal(flip.tta, 'flip');
  const [s1] = await flip.score([poster]);
  flip.genres.forEach((g, j) => assert.ok(Math.abs(s1![g]! - (p[j]! + q[j]!) / 2) < 1e-6, `flip: ${g}`));
  // The evaluation path (byte images) and the lenient loader (report, dcgan eval) agree.
  const e = await predictBytes(flip.model, [img], W, H, flip.tta);
  flip.genres.forEach((g, j) => assert.ok(Math.abs(e[j]! - s1![g]!) < 1e-6, `predictBytes: ${g}`));
  const [s2] = await (await openGenreModel(dir)).score([poster]);
  flip.genres.forEach((g) => assert.ok(Math.abs(s2![g]! - s1![g]!) < 1e-6, `openGenreModel: ${g}`));
  // The ruler of FID/KID and of the year/IMDB heads does not move with the scoring option.
  const [f1] = await flip.features([poster]);
  assert.deepEqual(Array.from(f1!), Array.from(f0!));
  // The saliency explains the score shown, so it is the gradient of the flip-averaged score.
  const [sal1] = await flip.saliency([poster], 'A');
  assert.equal(sal1!.length, W * H);
  assert.ok(
    sal1!.some((v, i) => Math.abs(v - sal0![i]!) > 1e-7),
    'flip saliency is not the plain one',
  );
  for (const m of [plain, flip]) m.model.dispose();
});

test('a bad "tta" in metadata.json is refused in one line naming the file and the values accepted', async () => {
  const dir = await writeTinyClassifier(path.join(root, 'bad-tta'), ['A', 'B'], { width: W, height: H });
  await setMeta(dir, { tta: 'mirror' });
  const file = path.join(dir, 'metadata.json');
  for (const open of [loadClassifier, openGenreModel]) {
    await assert.rejects(open(dir), (err: Error) => {
      assert.ok(err instanceof UserError, err.stack);
      assert.equal(err.message, `${file}: "tta" is "mirror"; accepted: "none" or "flip" (absent = none)`);
      return true;
    });
  }
});

test('the feature network is named by its metadata name (else its folder), and the hash ignores metadata', async () => {
  const dir = await writeTinyClassifier(path.join(root, 'folder-name'), ['A', 'B'], { width: W, height: H });
  await setMeta(dir, { name: 'tiny-net-v1' });
  const named = await openFeatureNet(dir);
  assert.match(named.id, /^tiny-net-v1@[0-9a-f]{12}$/);
  await setMeta(dir, { tta: 'flip', thresholds: [0.1, 0.9] });
  assert.equal((await openFeatureNet(dir)).id, named.id, 'scoring options never rename the ruler');
  await fs.rm(path.join(dir, 'metadata.json'));
  assert.equal((await openFeatureNet(dir)).id, `folder-name@${named.id.split('@')[1]}`);
  // The shipped classifier is the default network: its weights are the ones measured in the README.
  assert.equal((await openFeatureNet()).id, 'poster-features-v4-r30@2c4f4b671167');
});
