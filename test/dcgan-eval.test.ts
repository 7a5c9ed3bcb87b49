import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { cpuMinutesAt } from '../src/artifacts/eval-curve.js';
import { DEFAULT_FEATURE_NET } from '../src/features/fid/feature-net.js';
import { featureSet, kid, precisionRecall } from '../src/features/fid/kernel-metrics.js';
import { createRng } from '../src/core/random.js';
import { initBackend } from '../engine/backend.js';
import { makeDcganFixture } from './helpers/dcgan-fixture.js';
import { tempDir } from './helpers/temp-dir.js';
import { TINY_DCGAN_CLI } from './helpers/tiny-flags.js';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'dcgan.js');

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const errors = (stderr: string): string[] =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l && !l.startsWith('backend:'));

const gaussian = (n: number, dim: number, shift: number, seed: number): Float32Array[] => {
  const rng = createRng(seed, 'gauss');
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => rng.normal() + shift));
};

before(async () => {
  await initBackend('cpu', true);
});

test('KID: near zero within its spread for two samples of one distribution, large for shifted ones', () => {
  const a = featureSet(gaussian(300, 16, 0, 1));
  const same = kid(a, featureSet(gaussian(300, 16, 0, 2)), { subsets: 50, subsetSize: 200 });
  assert.ok(Math.abs(same.mean) < 2 * same.std + 1e-3, `same: ${same.mean} ± ${same.std}`);
  const shifted = kid(a, featureSet(gaussian(300, 16, 1, 3)), { subsets: 50, subsetSize: 200 });
  assert.ok(
    shifted.mean > 10 * Math.max(same.std, Math.abs(same.mean)),
    `shifted ${shifted.mean} vs same ${same.mean} ± ${same.std}`,
  );
  assert.equal(shifted.subsetSize, 200);
  assert.throws(() => kid(a, featureSet(gaussian(5, 16, 0, 4))), /KID needs at least 10 samples per set, got 5/);
});

test('precision and recall: 1 for the same set, 0 for a far one, and they split for a narrow one', () => {
  const real = featureSet(gaussian(200, 4, 0, 5));
  assert.deepEqual(precisionRecall(real, real), { precision: 1, recall: 1, k: 3 });
  const far = precisionRecall(real, featureSet(gaussian(200, 4, 50, 6)));
  assert.equal(far.precision, 0);
  assert.equal(far.recall, 0);
  // A collapsed generator (all near the centre) is precise but covers little of the real set.
  const narrow = precisionRecall(real, featureSet(gaussian(200, 4, 0, 7).map((f) => f.map((v) => v * 0.05))));
  assert.ok(narrow.precision > 0.9 && narrow.recall < 0.5, JSON.stringify(narrow));
});

test('CPU minutes at a checkpoint time are interpolated from the sampler log', () => {
  const log = [
    { unix: 100, cpu: 0 },
    { unix: 120, cpu: 12 },
    { unix: 140, cpu: 30 },
  ];
  assert.equal(cpuMinutesAt(log, 130), 21 / 60);
  assert.equal(cpuMinutesAt(log, 100), 0);
  assert.equal(cpuMinutesAt(log, 1000), null);
});

test('dcgan eval: a curve over a run, one line for a checkpoint, and refusals that write nothing', async (t) => {
  if (!existsSync(path.join(DEFAULT_FEATURE_NET(), 'model.json'))) {
    assert.fail(`the shipped feature network is missing from ${DEFAULT_FEATURE_NET()}`);
  }
  const data = await makeDcganFixture(24);
  const out = path.join(await tempDir('dcgan-eval-'), 'run');
  const tr = run([
    'train',
    '--input',
    data,
    '--output',
    out,
    ...TINY_DCGAN_CLI,
    '--iterations',
    '4',
    '--checkpoint_rate',
    '2',
    '--sample_rate',
    '4',
    '--render_video',
    'false',
    '--eval_every',
    '2',
    '--eval_count',
    '12',
  ]);
  assert.equal(tr.code, 0, tr.stderr);

  await t.test('--eval_every logs KID and keeps the best checkpoint apart', async () => {
    const rows = (await fs.readFile(path.join(out, 'kid.csv'), 'utf8')).trim().split('\n');
    assert.equal(rows[0], 'iteration,kid_mean,kid_std');
    const kids = rows.slice(1).map((l) => l.split(',').map(Number));
    assert.deepEqual(
      kids.map((r) => r[0]),
      [2, 4],
    );
    const best = JSON.parse(await fs.readFile(path.join(out, 'checkpoints', 'best', 'best.json'), 'utf8'));
    const min = kids.reduce((a, b) => (b[1]! < a[1]! ? b : a));
    assert.equal(best.iteration, min[0]);
    assert.ok(existsSync(path.join(out, 'checkpoints', 'best', `ckpt_00000${best.iteration}`, 'state.json')));
  });

  await t.test('run folder: one row per checkpoint, the network named, real vs real below noise', () => {
    const r = run(['eval', '--checkpoint', out, '--real', data, '--count', '20', '--backend', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 checkpoints in .*eval\.csv \(features poster-features-v4-r30@[0-9a-f]{12}\)/);
  });
  const json = JSON.parse(await fs.readFile(path.join(out, 'eval.json'), 'utf8'));
  assert.deepEqual(
    json.rows.map((r: { iteration: number }) => r.iteration),
    [2, 4],
  );
  assert.match(json.key.featureNet, /^poster-features-v4-r30@[0-9a-f]{12}$/);
  assert.ok(json.scale.noise.kid.mean > json.scale.realVsReal.kid.mean, JSON.stringify(json.scale));
  assert.equal((await fs.readFile(path.join(out, 'eval.csv'), 'utf8')).trim().split('\n').length, 3);

  await t.test(
    'dcgan export of the run takes its best checkpoint; its fp32 export scores as that checkpoint does',
    () => {
      const best = JSON.parse(readFileSync(path.join(out, 'checkpoints', 'best', 'best.json'), 'utf8'));
      const source = path.join(out, 'checkpoints', 'best', `ckpt_00000${best.iteration}`);
      const exported = path.join(path.dirname(out), 'exported');
      const e = run(['export', '--checkpoint', out, '--output', exported, '--precision', 'fp32']);
      assert.equal(e.code, 0, e.stderr);
      assert.ok(e.stdout.includes(`${source} (the lowest KID of --eval_every, iteration ${best.iteration})`), e.stdout);
      const score = (ck: string): unknown => {
        const r = run(['eval', '--checkpoint', ck, '--real', data, '--count', '20', '--json', '--backend', 'cpu']);
        assert.equal(r.code, 0, r.stderr);
        const { kid, fid, precision, recall } = JSON.parse(r.stdout).rows[0];
        return { kid, fid, precision, recall };
      };
      assert.deepEqual(score(exported), score(source));
    },
  );

  await t.test(
    'a checkpoint gone between listing and reading (a run rotating them) is skipped; a damaged one stops the eval',
    async () => {
      // A dangling link is a listed checkpoint whose folder no longer exists.
      const gone = path.join(out, 'checkpoints', 'ckpt_000003');
      await fs.symlink(path.join(out, 'no-such-folder'), gone);
      try {
        const dest = await tempDir('dcgan-eval-rotated-');
        const evaluateRun = (): ReturnType<typeof run> =>
          run(['eval', '--checkpoint', out, '--real', data, '--count', '20', '--output', dest, '--backend', 'cpu']);
        const r = evaluateRun();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /eval: skipped ckpt_000003: removed while this eval ran/);
        assert.match(r.stdout, /^2 checkpoints in /);
        await fs.rm(gone);
        await fs.mkdir(gone);
        await fs.writeFile(path.join(gone, 'state.json'), '{ not json');
        const bad = evaluateRun();
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, /^error: .*ckpt_000003.*cannot read checkpoint/m);
      } finally {
        await fs.rm(gone, { recursive: true, force: true });
      }
    },
  );

  await t.test("someone else's eval.csv in the output is refused and left as it was", async () => {
    const dest = await tempDir('dcgan-eval-foreign-');
    await fs.writeFile(path.join(dest, 'eval.csv'), 'my own numbers\n');
    const r = run(['eval', '--checkpoint', out, '--real', data, '--count', '20', '--output', dest, '--backend', 'cpu']);
    assert.equal(r.code, 2);
    assert.match(
      errors(r.stderr).join('\n'),
      /^error: --output: .*eval\.csv exists and was not written by poster-studio/,
    );
    assert.equal(await fs.readFile(path.join(dest, 'eval.csv'), 'utf8'), 'my own numbers\n');
    assert.ok(!existsSync(path.join(dest, 'eval.json')));
  });

  await t.test('a single checkpoint gives one summary line', () => {
    const r = run([
      'eval',
      '--checkpoint',
      path.join(out, 'checkpoints', 'ckpt_000004'),
      '--real',
      data,
      '--count',
      '20',
      '--backend',
      'cpu',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(
      r.stdout,
      /^ckpt_000004 \(iteration 4\): KID -?[\d.]+ ± [\d.]+ {2}FID [\d.]+ {2}precision [\d.]+ {2}recall [\d.]+ .*real vs real: KID/,
    );
  });

  await t.test('another feature network never joins the curve', async () => {
    const other = await tempDir('dcgan-eval-net-');
    for (const f of await fs.readdir(DEFAULT_FEATURE_NET()))
      await fs.copyFile(path.join(DEFAULT_FEATURE_NET(), f), path.join(other, f));
    const w = await fs.readFile(path.join(other, 'weights.bin'));
    w[0] = w[0]! ^ 1;
    await fs.writeFile(path.join(other, 'weights.bin'), w);
    const before = await fs.readFile(path.join(out, 'eval.json'), 'utf8');
    const r = run(['eval', '--checkpoint', out, '--real', data, '--count', '20', '--model', other, '--backend', 'cpu']);
    assert.equal(r.code, 2);
    assert.match(
      errors(r.stderr).join('\n'),
      /^error: .*eval\.json was computed with feature network poster-features-v4-r30@[0-9a-f]{12}, not .*curves never mix networks/,
    );
    assert.equal(await fs.readFile(path.join(out, 'eval.json'), 'utf8'), before);
  });

  await t.test(
    'bad inputs: too few real posters, a genre on an unconditional model; an unreadable poster is skipped',
    async () => {
      const few = await makeDcganFixture(12);
      const dest = path.join(await tempDir('dcgan-eval-bad-'), 'curve');
      const cases: [string[], RegExp][] = [
        [['--real', few], /^error: --real: 12 readable posters in .*; KID needs at least 20 \(10 per half\)$/],
        [['--real', data, '--genres', 'Horror'], /^error: --genres needs a conditional checkpoint/],
      ];
      for (const [args, re] of cases) {
        const r = run(['eval', '--checkpoint', out, '--output', dest, '--count', '20', '--backend', 'cpu', ...args]);
        assert.equal(r.code, 2, r.stderr);
        assert.deepEqual(errors(r.stderr).length, 1, r.stderr);
        assert.match(errors(r.stderr)[0]!, re);
        assert.equal(existsSync(dest), false, 'nothing written');
      }
      const posters = await tempDir('dcgan-eval-posters-');
      for (const f of (await fs.readdir(data)).filter((n) => n.endsWith('.jpg')))
        await fs.copyFile(path.join(data, f), path.join(posters, f));
      await fs.writeFile(path.join(posters, 'broken.jpg'), 'not a jpeg');
      const r = run([
        'eval',
        '--checkpoint',
        path.join(out, 'checkpoints', 'ckpt_000002'),
        '--real',
        posters,
        '--count',
        '20',
        '--backend',
        'cpu',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /skipped 1 unreadable real posters/);
      const j = JSON.parse(r.stdout);
      assert.equal(j.key.realCount, 24);
      assert.equal(j.realSkipped, 1);
    },
  );

  await t.test('recipe flags: bad values and a resume with another recipe are refused in one line', () => {
    const cases: [string[], RegExp][] = [
      [
        ['train', '--input', data, '--output', path.join(out, 'x'), ...TINY_DCGAN_CLI, '--recipe', 'fancy'],
        /^error: .*--recipe takes one of small-data, seed, got 'fancy'$/,
      ],
      [
        ['train', '--input', data, '--output', path.join(out, 'x'), ...TINY_DCGAN_CLI, '--diff_augment', 'color,blur'],
        /^error: --diff_augment: unknown blur; valid: none or a list of color, translation, cutout$/,
      ],
      [
        ['train', '--input', data, '--output', out, ...TINY_DCGAN_CLI, '--resume', '--recipe', 'seed'],
        /^error: --resume: the checkpoint was trained with loss="hinge", diffAugment=\["color","translation","cutout"\], mirror=true, emaDecay=0.999; drop those flags/,
      ],
    ];
    for (const [args, re] of cases) {
      const r = run(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(errors(r.stderr).length, 1, r.stderr);
      assert.match(errors(r.stderr)[0]!, re);
    }
    assert.equal(existsSync(path.join(out, 'x')), false);
  });

  await t.test(
    'conditional models: the per-genre share beside the real one; an unknown genre lists the known ones',
    () => {
      const cond = path.join(path.dirname(out), 'cond');
      const tc = run([
        'train',
        '--input',
        data,
        '--output',
        cond,
        ...TINY_DCGAN_CLI,
        '--conditional',
        '--iterations',
        '2',
        '--checkpoint_rate',
        '2',
        '--sample_rate',
        '2',
        '--render_video',
        'false',
      ]);
      assert.equal(tc.code, 0, tc.stderr);
      const ck = path.join(cond, 'checkpoints', 'ckpt_000002');
      const r = run([
        'eval',
        '--checkpoint',
        ck,
        '--real',
        data,
        '--count',
        '20',
        '--genre_count',
        '10',
        '--genres',
        'Horror,Drama',
        '--backend',
        'cpu',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const shares = JSON.parse(r.stdout).rows[0].genres as { genre: string; generated: number; real: number }[];
      assert.deepEqual(
        shares.map((g) => g.genre),
        ['Horror', 'Drama'],
      );
      for (const g of shares)
        assert.ok(g.generated >= 0 && g.generated <= 1 && g.real >= 0 && g.real <= 1, JSON.stringify(g));
      const bad = run([
        'eval',
        '--checkpoint',
        ck,
        '--real',
        data,
        '--count',
        '20',
        '--genres',
        'Western',
        '--backend',
        'cpu',
      ]);
      assert.equal(bad.code, 2);
      assert.deepEqual(errors(bad.stderr), [
        'error: --genres: Western not known to this model; valid: Action, Drama, Horror',
      ]);
    },
  );
});
