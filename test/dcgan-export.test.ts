import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { initBackend, tf } from '../engine/index.js';
import { UserError } from '../src/core/errors.js';
import { shippedModel } from '../src/artifacts/default-models.js';
import {
  saveCheckpoint,
  checkpointName,
  readCheckpointJson,
  MAX_STATE_BYTES as MAX_CHECKPOINT_STATE,
} from '../dcgan/checkpoint.js';
import { loadExportedGenerator, MAX_STATE_BYTES as MAX_EXPORT_STATE } from '../dcgan/generator-file.js';
import { generate, openGenerator } from '../dcgan/generate.js';
import { networkSize } from '../dcgan/model.js';
import { recipeByName } from '../dcgan/recipe.js';
import { createState, disposeState } from '../dcgan/state.js';
import { encodeCondition } from '../dcgan/data.js';
import { fixedLatent, gridConditions } from '../dcgan/latent.js';
import { generateCheckpoint } from '../cli/commands/dcgan-generate.js';
import { makeDcganFixture, tinyConfig, tinyTrain } from './helpers/dcgan-fixture.js';
import { tempDir } from './helpers/temp-dir.js';
import { errorLines, hasStackTrace, runCli } from './helpers/run-cli.js';
import { TINY_DCGAN_NET } from './helpers/tiny-flags.js';

/**
 * fp16 keeps 11 significant bits of each weight: on this tiny net the pixels (in [-1, 1]) moved by
 * under 1e-6 when measured; an 8-bit level is 2/255, so this bound keeps the PNGs within one level.
 */
const FP16_TOLERANCE = 1e-3;

let root = '';
let data = '';
let run = '';
let ckpt = '';
before(async () => {
  await initBackend('cpu', true);
  root = await tempDir('dcgan-export-');
  data = await makeDcganFixture(12);
  run = path.join(root, 'run');
  const t = await runCli(
    [
      'dcgan',
      'train',
      '--input',
      data,
      '--output',
      run,
      '--conditional',
      '--iterations',
      '4',
      '--render_video',
      'false',
    ].concat(TINY_DCGAN_NET, ['--backend', 'cpu']),
  );
  assert.equal(t.code, 0, t.stderr);
  ckpt = path.join(run, 'checkpoints', checkpointName(4));
});

const exportCli = (...args: string[]) => runCli(['dcgan', 'export', ...args]);

/** The one error line of a refused command (backend lines aside), with exit 2 and no stack. */
function refused(r: Awaited<ReturnType<typeof runCli>>, what: string): string {
  assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr}`);
  assert.ok(!hasStackTrace(r.stderr), `${what}: no stack trace\n${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('backend:'));
  assert.equal(lines.length, 1, `${what}: one line, got\n${r.stderr}`);
  assert.equal(errorLines(r.stderr).length, 1);
  return lines[0]!;
}

async function posters(checkpoint: string, out: string): Promise<Buffer[]> {
  const r = await generate({
    checkpoint,
    output: out,
    count: 4,
    cols: 2,
    seed: 7,
    genres: ['Horror'],
    decade: 1980,
    bn: 'moving',
  });
  return Promise.all(r.files.map((f) => fs.readFile(f)));
}

async function pixels(checkpoint: string): Promise<Float32Array> {
  const g = await openGenerator(checkpoint, 'moving');
  try {
    return g.pixels(g.latent(7, 4), ['Horror'], 1980);
  } finally {
    g.dispose();
  }
}

test('export fp32 generates the same PNG bytes as its checkpoint; fp16 half the tensors, pixels within 1e-3', async () => {
  const e32 = path.join(root, 'e32');
  const e16 = path.join(root, 'e16');
  const r32 = await exportCli('--checkpoint', ckpt, '--output', e32, '--precision', 'fp32');
  assert.equal(r32.code, 0, r32.stderr);
  assert.match(r32.stdout, /^exported G's EMA weights of .*ckpt_000004 \(as given, iteration 4\) as float32 to /);
  // A run folder without a best checkpoint exports its newest; kebab-case flags work too.
  const r16 = await runCli(['dcgan', 'export', '--checkpoint', run, '-o', e16]);
  assert.equal(r16.code, 0, r16.stderr);
  assert.match(r16.stdout, /ckpt_000004 \(the newest, iteration 4\) as float16/);

  const text = await fs.readFile(path.join(e32, 'state.json'), 'utf8');
  const json = JSON.parse(text);
  assert.equal(json.weights, 'ema');
  assert.equal(json.iteration, 4);
  assert.deepEqual(json.config.condition.genres, ['Action', 'Drama', 'Horror']);
  assert.deepEqual(json.recipe, recipeByName('small-data'));
  // The source by name, never by where it lay on this machine.
  assert.equal(json.source.run, 'run');
  assert.equal(json.source.checkpoint, 'checkpoints/ckpt_000004');
  assert.ok(!text.includes(root), 'no local path in the export');
  // Exports written before the run was recorded (an absolute checkpoint path, no run) still load.
  const older = path.join(root, 'e-older');
  await fs.cp(e32, older, { recursive: true });
  const { run: _, ...olderSource } = { ...json.source, checkpoint: path.resolve(ckpt) };
  await fs.writeFile(path.join(older, 'state.json'), JSON.stringify({ ...json, source: olderSource }));
  const loaded = await loadExportedGenerator(older);
  assert.equal(loaded.json.source.run, undefined);
  for (const v of loaded.net.g.values()) v.dispose();
  const hash = createHash('sha256')
    .update(await fs.readFile(path.join(ckpt, 'tensors.bin')))
    .digest('hex');
  assert.equal(json.source.tensorsSha256, hash);

  const b32 = (await fs.stat(path.join(e32, 'tensors.bin'))).size;
  const b16 = (await fs.stat(path.join(e16, 'tensors.bin'))).size;
  assert.equal(b32, networkSize(json.config).generator * 4, 'fp32: exactly G');
  assert.equal(b16 * 2, b32, 'fp16: half');
  assert.ok(b32 * 4 < (await fs.stat(path.join(ckpt, 'tensors.bin'))).size, 'far smaller than the checkpoint');

  const fromCkpt = await posters(ckpt, path.join(root, 'g-ckpt'));
  const from32 = await posters(e32, path.join(root, 'g-32'));
  assert.deepEqual(from32, fromCkpt, 'fp32 export: byte-identical PNGs');

  const p = await pixels(ckpt);
  const p16 = await pixels(e16);
  let max = 0;
  for (let i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i]! - p16[i]!));
  assert.ok(max > 0, 'fp16 rounds the weights (so the posters are not bit-identical)');
  assert.ok(max < FP16_TOLERANCE, `fp16 pixels within ${FP16_TOLERANCE}: ${max}`);
});

test('a run folder exports its best-KID checkpoint when --eval_every kept one', async () => {
  const best = path.join(run, 'checkpoints', 'best', checkpointName(2));
  await fs.cp(path.join(run, 'checkpoints', checkpointName(2)), best, { recursive: true });
  try {
    const r = await exportCli('--checkpoint', run, '--output', path.join(root, 'e-best'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /best\/ckpt_000002 \(the lowest KID of --eval_every, iteration 2\)/);
    const { source } = JSON.parse(await fs.readFile(path.join(root, 'e-best', 'state.json'), 'utf8'));
    assert.deepEqual([source.run, source.checkpoint], ['run', 'checkpoints/best/ckpt_000002']);
  } finally {
    await fs.rm(path.join(run, 'checkpoints', 'best'), { recursive: true });
  }
});

/** The fork's test mode (`dcgan` without --train) on a checkpoint or export: its samples.png. */
async function testMode(ck: string, sampleDir: string): Promise<Buffer> {
  const t = await runCli([
    'dcgan',
    '--checkpoint_dir',
    ck,
    '--sample_dir',
    sampleDir,
    '--visualize',
    'false',
    '--backend',
    'cpu',
  ]);
  assert.equal(t.code, 0, t.stderr);
  return fs.readFile(path.join(sampleDir, 'test', 'samples.png'));
}

/** A conditional checkpoint of `recipe` whose grid conditions are built as training builds them. */
function gridState(recipe: 'seed' | 'small-data') {
  const vocab = { genres: ['Drama', 'Horror'], decades: [1980, 1990] };
  const config = { ...tinyConfig(), condition: vocab };
  const fixedY = new Float32Array(6 * 4);
  gridConditions(vocab, 2, 3).forEach((c, i) => encodeCondition(vocab, c.genres, c.decade, fixedY, i * 4));
  return createState(config, 5, tinyTrain(), fixedLatent(5, 6, 8), fixedY, 12, recipeByName(recipe));
}

test("the fork's test mode samples a checkpoint's EMA, as generate, grids and eval do: the grid of its export", async () => {
  const dir = await tempDir('dcgan-export-ema-');
  const s = gridState('small-data');
  // An EMA far from G (a few real iterations leave them close enough to round to the same pixels).
  for (const [k, e] of s.emaG!) e.assign(tf.add(s.net.g.get(k)!, 0.3));
  const source = await saveCheckpoint(s, dir, 1);
  disposeState(s);
  const out = path.join(dir, 'export');
  const r = await exportCli('--checkpoint', source, '--output', out, '--precision', 'fp32');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(await fs.readFile(path.join(out, 'state.json'), 'utf8')).weights, 'ema');
  assert.deepEqual(await testMode(source, path.join(dir, 't-src')), await testMode(out, path.join(dir, 't-out')));
});

test("a checkpoint without an EMA exports G itself and says so; the fork's test mode draws the same grid from both", async () => {
  const dir = await tempDir('dcgan-export-seed-');
  // The grid's conditions as training builds them (test mode rebuilds them so for an export).
  const s = gridState('seed');
  const source = await saveCheckpoint(s, dir, 1);
  disposeState(s);
  const out = path.join(dir, 'export');
  const r = await exportCli('--checkpoint', source, '--output', out, '--precision', 'fp32');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^exported G's weights \(the checkpoint keeps no EMA\) of /);
  assert.equal(JSON.parse(await fs.readFile(path.join(out, 'state.json'), 'utf8')).weights, 'g');
  assert.deepEqual(await posters(out, path.join(dir, 'g-out')), await posters(source, path.join(dir, 'g-src')));

  assert.deepEqual(await testMode(out, path.join(dir, 't-out')), await testMode(source, path.join(dir, 't-src')));
});

test('export refuses bad input in one line and replaces only its own output', async () => {
  const foreign = path.join(root, 'theirs');
  await fs.mkdir(foreign);
  await fs.writeFile(path.join(foreign, 'notes.txt'), 'mine');
  const cases: [string[], RegExp][] = [
    [['--checkpoint', ckpt], /^error: --output: give the directory to write/],
    [
      ['--checkpoint', ckpt, '--output', path.join(root, 'x'), '--precision', 'fp8'],
      /--precision takes one of fp16, fp32/,
    ],
    [['--checkpoint', data, '--output', path.join(root, 'x')], /^error: --checkpoint: no checkpoint in /],
    [
      ['--checkpoint', ckpt, '--output', foreign],
      /^error: --output: .*theirs exists and was not written by dcgan export/,
    ],
    [['--checkpoint', path.join(root, 'e32'), '--output', path.join(root, 'x')], /is already an exported generator/],
    // A training checkpoint is on its folder's list of our files too: it is still no export to replace.
    [
      ['--checkpoint', ckpt, '--output', path.join(run, 'checkpoints', checkpointName(2))],
      /exists and was not written by dcgan export/,
    ],
  ];
  for (const [args, re] of cases) assert.match(refused(await exportCli(...args), args.join(' ')), re);
  assert.equal(await fs.readFile(path.join(foreign, 'notes.txt'), 'utf8'), 'mine');
  assert.equal(
    JSON.parse(await fs.readFile(path.join(run, 'checkpoints', checkpointName(2), 'state.json'), 'utf8')).iteration,
    2,
  );
  assert.ok(!existsSync(path.join(root, 'x')), 'nothing written');
  // Its own earlier export is replaced whole (fp32 -> fp16 here).
  const again = await exportCli('--checkpoint', ckpt, '--output', path.join(root, 'e32'));
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((await fs.readdir(path.join(root, 'e32'))).sort(), ['state.json', 'tensors.bin']);
  assert.equal(JSON.parse(await fs.readFile(path.join(root, 'e32', 'state.json'), 'utf8')).dtype, 'float16');
  await exportCli('--checkpoint', ckpt, '--output', path.join(root, 'e32'), '--precision', 'fp32');
});

test('dcgan train --resume from an exported generator is refused in one line', async () => {
  const e16 = path.join(root, 'e16');
  for (const where of [
    ['--output', e16],
    ['--output', path.join(root, 'resumed'), '--checkpoint_dir', e16],
  ]) {
    const r = await runCli(['dcgan', 'train', '--input', data, ...where, '--resume', '--backend', 'cpu']);
    assert.match(
      refused(r, where.join(' ')),
      /^error: .*e16 is an exported generator \(weights only\); resume from the run's checkpoint$/,
    );
  }
});

test('a damaged export is refused in one line naming the file', async () => {
  const e32 = path.join(root, 'e32');
  const damage: [string, (dir: string) => Promise<void>, RegExp][] = [
    [
      'truncated tensors',
      async (d) => fs.truncate(path.join(d, 'tensors.bin'), 100),
      /"tensors.bin" holds 25 values where this config's generator needs \d+/,
    ],
    [
      'NaN',
      async (d) => {
        const f = path.join(d, 'tensors.bin');
        const b = await fs.readFile(f);
        b.writeFloatLE(NaN, 40);
        await fs.writeFile(f, b);
      },
      /tensor g\/g_h0_lin\/w holds NaN at value 10 \(NaN or infinite\); the exported generator is damaged/,
    ],
    [
      'Infinity in fp16',
      async (d) => {
        const f = path.join(d, 'state.json');
        const j = JSON.parse(await fs.readFile(f, 'utf8'));
        j.dtype = 'float16';
        await fs.writeFile(f, JSON.stringify(j));
        // 0x7c00 is float16's +Infinity.
        const half = new Uint16Array((await fs.stat(path.join(e32, 'tensors.bin'))).size / 4).fill(0x7c00);
        await fs.writeFile(path.join(d, 'tensors.bin'), new Uint8Array(half.buffer));
      },
      /tensor g\/g_h0_lin\/w holds Infinity at value 0/,
    ],
    [
      'unknown dtype',
      async (d) => {
        const f = path.join(d, 'state.json');
        await fs.writeFile(f, (await fs.readFile(f, 'utf8')).replace('"float32"', '"int8"'));
      },
      /"dtype" must be one of float16, float32, got "int8"/,
    ],
    [
      'source.run not a name',
      async (d) => {
        const f = path.join(d, 'state.json');
        const j = JSON.parse(await fs.readFile(f, 'utf8'));
        j.source.run = 7;
        await fs.writeFile(f, JSON.stringify(j));
      },
      /"source.run" must be a folder name/,
    ],
    [
      'wrong shape',
      async (d) => {
        const f = path.join(d, 'state.json');
        const j = JSON.parse(await fs.readFile(f, 'utf8'));
        j.tensors[1].shape = [j.tensors[1].shape[0] - 1, 1];
        await fs.writeFile(f, JSON.stringify(j));
      },
      /tensor g\/g_h0_lin\/b has shape \[\d+, 1\], the config needs \[\d+\]/,
    ],
  ];
  for (const [what, harm, re] of damage) {
    const dir = path.join(await tempDir('dcgan-export-bad-'), 'gen');
    await fs.cp(e32, dir, { recursive: true });
    await harm(dir);
    const out = path.join(path.dirname(dir), 'out');
    const r = await runCli([
      'dcgan',
      'generate',
      '--checkpoint',
      dir,
      '--output',
      out,
      '--count',
      '2',
      '--backend',
      'cpu',
    ]);
    const line = refused(r, what);
    assert.match(line, new RegExp(`^error: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/state.json: `), what);
    assert.match(line, re, what);
    assert.ok(!existsSync(out), `${what}: nothing written`);
  }
});

test('a state.json that is no regular file or is too big is refused before it is parsed (export and checkpoint alike)', async () => {
  const cases: [string, (dir: string) => Promise<unknown>, number, RegExp][] = [
    ['export', loadExportedGenerator, MAX_EXPORT_STATE, /\/state\.json: cannot read exported generator \(/],
    ['checkpoint', readCheckpointJson, MAX_CHECKPOINT_STATE, /\/state\.json: cannot read checkpoint \(/],
  ];
  for (const [what, read, max, prefix] of cases) {
    const dir = await tempDir(`dcgan-state-${what}-`);
    await fs.cp(what === 'export' ? path.join(root, 'e32') : ckpt, path.join(dir, 'ok'), { recursive: true });
    const refusedWith = async (reason: RegExp): Promise<void> => {
      await assert.rejects(
        read(path.join(dir, 'ok')),
        (e: Error) => e instanceof UserError && prefix.test(e.message) && reason.test(e.message),
      );
    };
    // A sparse file one byte past the bound: its size is refused without reading a byte of it.
    await fs.truncate(path.join(dir, 'ok', 'state.json'), max + 1);
    await refusedWith(new RegExp(`\\(${max + 1} bytes is too big for a state\\.json\\)$`));
    await fs.rm(path.join(dir, 'ok', 'state.json'));
    await fs.mkdir(path.join(dir, 'ok', 'state.json'));
    await refusedWith(/\(not a regular file\)$/);
  }
});

test('dcgan generate with no --checkpoint: the shipped default when there is one (said in one line), else one error line', async () => {
  const empty = await tempDir('dcgan-export-none-');
  const where = { samples: path.join(empty, 'samples'), shipped: path.join(empty, 'models') };
  assert.throws(
    () => generateCheckpoint(undefined, where),
    (e: Error) =>
      e instanceof UserError &&
      /^--checkpoint: no default generator is shipped in .*models\/generator yet and --checkpoint was not given, and there is no .*samples\/checkpoints here; train one \(dcgan train\) or pass --checkpoint <dir>$/.test(
        e.message,
      ),
  );
  await fs.cp(path.join(root, 'e16'), path.join(where.shipped, 'generator'), { recursive: true });
  const shipped = generateCheckpoint(undefined, where);
  assert.equal(shipped.dir, path.join(where.shipped, 'generator'));
  assert.equal(shipped.note, `generator: the shipped default, ${shipped.dir} (--checkpoint picks another)`);
  assert.equal((await posters(shipped.dir, path.join(empty, 'g'))).length, 4);
  // The user's own always win: this folder's run, then --checkpoint (which needs no line).
  await fs.mkdir(path.join(where.samples, 'checkpoints'), { recursive: true });
  assert.equal(generateCheckpoint(undefined, where).dir, shipped.dir, 'an empty checkpoints folder is no run');
  await fs.mkdir(path.join(where.samples, 'checkpoints', checkpointName(4)));
  assert.match(generateCheckpoint(undefined, where).note!, /^generator: this folder's training run, /);
  assert.deepEqual(generateCheckpoint(ckpt, where), { dir: ckpt, note: null });

  // The real command from a folder with no run: whatever the package ships decides which answer is right.
  const cwd = await tempDir('dcgan-export-cwd-');
  const out = path.join(cwd, 'out');
  const r = await runCli(['dcgan', 'generate', '--output', out, '--count', '2', '--backend', 'cpu'], { cwd });
  if (shippedModel('generator')) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^generator: the shipped default, /m);
  } else {
    assert.match(refused(r, 'no checkpoint anywhere'), /^error: --checkpoint: no default generator is shipped in /);
    assert.ok(!existsSync(out));
  }
});
