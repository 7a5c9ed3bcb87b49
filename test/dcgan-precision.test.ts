/**
 * `dcgan train --precision bf16|fp32`: bf16 runs the convolutions and matrix products on AMX tiles
 * where the CPU has them and is refused in one line elsewhere (never a silent fp32 run). The
 * refusals are checked on every machine (POSTER_STUDIO_AMX=0 stands for a CPU without AMX); the
 * bf16 training run only where AMX is, and the test output says so by name where it is not.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { nativeAddon } from '../engine/native/backend.js';
import { inFp32, setPrecision } from '../engine/precision.js';
import { makeDcganFixture } from './helpers/dcgan-fixture.js';
import { tempDir } from './helpers/temp-dir.js';
import { TINY_DCGAN_RUN } from './helpers/tiny-flags.js';
import { AMX, PRECISION_REFUSALS, amxNotTested, assertRefused } from './helpers/precision.js';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'dcgan.js');

let data = '';
before(async () => {
  data = await makeDcganFixture(12);
});

function run(args: string[], env: Record<string, string> = {}): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'train', '--input', data, ...TINY_DCGAN_RUN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...env },
    timeout: 120_000,
  });
  return { code: r.status, stderr: r.stderr };
}

test('--precision bf16 without AMX, off the native backend, or an unknown precision: one error line, exit 2, nothing written', async () => {
  const dir = await tempDir('dcgan-precision-bad-');
  for (const [i, [args, env, re]] of PRECISION_REFUSALS.entries()) {
    const out = path.join(dir, `out${i}`);
    assertRefused(run(['--output', out, ...args], env), args.join(' '), re);
    assert.equal(existsSync(out), false, `${out} was written`);
  }
});

if (!AMX) {
  amxNotTested('dcgan train');
} else {
  test('[amx] --precision bf16 trains on AMX: same seed as fp32, finite losses close to fp32 but not equal', async () => {
    const dir = await tempDir('dcgan-precision-');
    const losses: Record<string, number[][]> = {};
    for (const p of ['fp32', 'bf16']) {
      const out = path.join(dir, p);
      const r = run(['--output', out, '--backend', 'native', '--precision', p]);
      assert.equal(r.code, 0, `${p}: exit ${r.code}\n${r.stderr}`);
      assert.equal(/precision: bf16 products on AMX tiles/.test(r.stderr), p === 'bf16', r.stderr);
      losses[p] = readFileSync(path.join(out, 'losses.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',').slice(2, 4).map(Number));
    }
    const [fp32, bf16] = [losses.fp32!, losses.bf16!];
    assert.equal(bf16.length, 4);
    assert.equal(fp32.length, 4);
    for (const row of [...fp32, ...bf16]) for (const v of row) assert.ok(Number.isFinite(v), `loss ${v}`);
    // The first iteration's losses: same weights and batch, only the products' rounding differs.
    const [d32, g32] = fp32[0]!,
      [d16, g16] = bf16[0]!;
    assert.ok(Math.abs(d16! - d32!) <= 0.05 * Math.abs(d32!), `d loss ${d16} (bf16) vs ${d32} (fp32)`);
    assert.ok(Math.abs(g16! - g32!) <= 0.05 * Math.abs(g32!), `g loss ${g16} (bf16) vs ${g32} (fp32)`);
    assert.notDeepEqual(bf16, fp32, 'bf16 gave fp32 losses bit for bit: the AMX path did not run');
  });

  test('[amx] KID during a bf16 run is scored in fp32 (inFp32), and bf16 is restored after, also on a throw', async () => {
    const addon = nativeAddon()!;
    setPrecision('bf16', 'native');
    try {
      assert.equal(await inFp32(async () => addon.info().precision), 'fp32');
      assert.equal(addon.info().precision, 'bf16');
      await assert.rejects(
        inFp32(async () => {
          throw new Error('scoring failed');
        }),
        /scoring failed/,
      );
      assert.equal(addon.info().precision, 'bf16');
    } finally {
      setPrecision('fp32', 'native');
    }
    assert.equal(addon.info().precision, 'fp32');
  });
}
