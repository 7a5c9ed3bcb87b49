/**
 * `classifier train --precision bf16|fp32`: bf16 trains with AMX products and says so in
 * metadata.json; validation is scored in fp32 either way; without AMX (or off the native backend)
 * it is refused in one line before anything is written.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { initBackend, setPrecision } from '../engine/index.js';
import { loadClassifierData } from '../classifier/data.js';
import { predictBytes } from '../classifier/inference.js';
import { bce } from '../classifier/train.js';
import { loadClassifier } from '../src/artifacts/classifier-model.js';
import { makeClassifierFixture, type ClassifierFixture } from './helpers/classifier-fixture.js';
import { AMX, PRECISION_REFUSALS, amxNotTested, assertRefused } from './helpers/precision.js';
import { errorLines, runCli } from './helpers/run-cli.js';

let fx: ClassifierFixture;
let models = '';
before(async () => {
  fx = await makeClassifierFixture();
  models = mkdtempSync(path.join(os.tmpdir(), 'clf-precision-'));
});
after(() => {
  for (const d of [fx?.dir, models]) if (d) rmSync(d, { recursive: true, force: true });
});

const TINY = '--ratio 10 --epochs 1 --version 4 --batch 16 --lr 0.003 --extras false'.split(' ');
const train = (name: string, args: string[], env: Record<string, string> = {}) =>
  runCli(
    [
      'classifier',
      'train',
      '--csv',
      fx.csv,
      '--data',
      fx.posters,
      '--models',
      models,
      '--name',
      name,
      ...TINY,
      ...args,
    ],
    { env },
  );
const metadata = (name: string) => JSON.parse(readFileSync(path.join(models, name, 'metadata.json'), 'utf8'));

test('classifier train --precision bf16 without AMX, off the native backend, or unknown: one error line, exit 2, nothing written', async () => {
  for (const [i, [args, env, re]] of PRECISION_REFUSALS.entries()) {
    const name = `refused${i}`;
    assertRefused(await train(name, args, env), args.join(' '), re);
    assert.equal(existsSync(path.join(models, name)), false, `${name} was written`);
  }
});

if (!AMX) {
  amxNotTested('classifier train');
} else {
  test('[amx] classifier train --precision bf16: recorded, other weights than fp32, loss finite and close; validation scored in fp32', async () => {
    for (const p of ['fp32', 'bf16']) {
      const r = await train(p, ['--backend', 'native', '--precision', p, '--seed', '3']);
      assert.equal(r.code, 0, `${p}: exit ${r.code}\n${r.stderr}`);
      assert.equal(/precision: bf16 products on AMX tiles/.test(r.stderr), p === 'bf16', r.stderr);
      assert.equal(metadata(p).params.precision, p, `${p}: metadata.json params.precision`);
    }
    const [m32, m16] = [metadata('fp32'), metadata('bf16')];
    const [l32, l16] = [m32.history[0].loss as number, m16.history[0].loss as number];
    assert.ok(Number.isFinite(l16) && Number.isFinite(l32), `losses ${l32} (fp32), ${l16} (bf16)`);
    assert.ok(Math.abs(l16 - l32) <= 0.05 * l32, `training loss ${l16} (bf16) vs ${l32} (fp32)`);
    const weights = (p: string) => readFileSync(path.join(models, p, 'weights.bin'));
    assert.equal(weights('bf16').length, weights('fp32').length);
    assert.equal(weights('bf16').equals(weights('fp32')), false, 'bf16 gave fp32 weights bit for bit: AMX did not run');

    // The recorded validation loss is what fp32 inference (classify's) gives on the saved weights,
    // and not what bf16 inference gives: the run scored validation in fp32.
    const backend = await initBackend('native', true);
    const c = await loadClassifier(path.join(models, 'bf16'));
    const val = (
      await loadClassifierData({
        csv: fx.csv,
        data: fx.posters,
        genres: c.genres,
        ratio: 10,
        splits: ['validation'],
        quiet: true,
      })
    ).splits.validation!;
    const labels = new Uint8Array(val.flatMap((e) => [...e.labels]));
    const valLoss = async () =>
      bce(
        await predictBytes(
          c.model,
          val.map((e) => e.image),
          c.width,
          c.height,
        ),
        labels,
      );
    const fp32Loss = await valLoss();
    setPrecision('bf16', backend);
    let bf16Loss: number;
    try {
      bf16Loss = await valLoss();
    } finally {
      setPrecision('fp32', backend);
    }
    const recorded = m16.history[0].valLoss as number;
    assert.ok(Math.abs(recorded - fp32Loss) < 1e-6, `recorded val loss ${recorded}, fp32 inference ${fp32Loss}`);
    assert.ok(Math.abs(recorded - bf16Loss) > 1e-6, `bf16 inference gives the recorded ${recorded} too: no control`);
  });

  test('[amx] --resume refuses to continue a bf16 run in fp32 (one run, one precision)', async () => {
    const r = await train('bf16', [
      '--backend',
      'native',
      '--precision',
      'fp32',
      '--seed',
      '3',
      '--resume',
      '--epochs',
      '2',
    ]);
    assert.equal(r.code, 2, r.stderr);
    const errors = errorLines(r.stderr);
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /--resume: .* was trained with other precision \(precision="bf16"\)/);
  });
}
