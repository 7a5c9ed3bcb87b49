/**
 * Backend choice: which request wins (flag, environment, auto), what auto falls back to and
 * says when the native kernels are missing, and the one-line errors for unknown or
 * uninstalled backends.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { UserError } from '../src/core/errors.js';
import { initBackend, resolveRequest, selectBackend, type Probe, type Probes } from '../engine/backend.js';

describe('resolveRequest', () => {
  test('an explicit --backend beats POSTER_STUDIO_BACKEND', () => {
    assert.deepEqual(resolveRequest('cpu', 'wasm'), { want: 'cpu', source: '--backend' });
  });
  test('the environment decides when the flag is auto or absent', () => {
    assert.deepEqual(resolveRequest('auto', 'wasm'), { want: 'wasm', source: 'POSTER_STUDIO_BACKEND' });
    assert.deepEqual(resolveRequest(undefined, ' Native '), { want: 'native', source: 'POSTER_STUDIO_BACKEND' });
  });
  test('neither: auto', () => {
    assert.deepEqual(resolveRequest(undefined, undefined), { want: 'auto', source: 'default' });
    assert.deepEqual(resolveRequest('auto', ''), { want: 'auto', source: 'default' });
  });
  test('an unknown name is a one-line UserError naming where it came from and the valid names', () => {
    assert.throws(
      () => resolveRequest(undefined, 'gpu'),
      (e: unknown) =>
        e instanceof UserError &&
        /POSTER_STUDIO_BACKEND takes one of auto, tensorflow, native, wasm, cpu, got 'gpu'/.test(e.message) &&
        !e.message.includes('\n'),
    );
    assert.throws(
      () => resolveRequest('tpu', 'cpu'),
      (e: unknown) => e instanceof UserError && e.message.startsWith('--backend takes one of'),
    );
  });
});

function fakes(ok: Partial<Record<keyof Probes, Probe>>, calls: string[] = []): Probes {
  const probe = (name: keyof Probes) => async (): Promise<Probe> => {
    calls.push(name);
    return ok[name] ?? { ok: false, reason: `${name} missing` };
  };
  return { tensorflow: probe('tensorflow'), native: probe('native'), wasm: probe('wasm'), cpu: probe('cpu') };
}

describe('selectBackend', () => {
  test('auto takes the first that starts, in the order tensorflow, native, wasm, cpu', async () => {
    const calls: string[] = [];
    const s = await selectBackend(
      'auto',
      fakes({ native: { ok: true, detail: 'avx2, 2 threads' }, wasm: { ok: true } }, calls),
    );
    assert.equal(s.name, 'native');
    assert.deepEqual(calls, ['tensorflow', 'native']);
    assert.deepEqual(s.lines, ['backend: native (avx2, 2 threads)'], 'a missing tfjs-node is the normal case: no note');
  });
  test('a native addon that did not load: one line saying so and the fallback, then the backend line', async () => {
    const s = await selectBackend(
      'auto',
      fakes({
        native: { ok: false, reason: 'build/Release/poster_studio_native.node is missing' },
        wasm: { ok: true, detail: 'SIMD, 1 thread' },
      }),
    );
    assert.equal(s.name, 'wasm');
    assert.equal(s.lines.length, 2);
    assert.match(
      s.lines[0]!,
      /^native kernels unavailable \(build\/Release\/poster_studio_native\.node is missing\); falling back to wasm/,
    );
    assert.equal(s.lines[1], 'backend: wasm (SIMD, 1 thread)');
  });
  test('no wasm either: cpu, still with the native note', async () => {
    const s = await selectBackend('auto', fakes({ cpu: { ok: true } }));
    assert.equal(s.name, 'cpu');
    assert.match(s.lines[0]!, /falling back to cpu/);
  });
  test('an explicit backend is never silently replaced: error with the reason and how to install it', async () => {
    await assert.rejects(
      selectBackend('native', fakes({ cpu: { ok: true } }), 'POSTER_STUDIO_BACKEND'),
      (e: unknown) =>
        e instanceof UserError &&
        /^backend 'native' \(from POSTER_STUDIO_BACKEND\) is not available: native missing; rebuild it with `npm rebuild poster-studio`/.test(
          e.message,
        ),
    );
    await assert.rejects(
      selectBackend('tensorflow', fakes({ cpu: { ok: true } })),
      (e: unknown) =>
        e instanceof UserError && e.message.includes('npm install @tensorflow/tfjs-node') && !e.message.includes('\n'),
    );
  });
});

describe('initBackend (real backends)', () => {
  const require = createRequire(import.meta.url);
  const hasTfNode = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].some((p) => {
    try {
      require.resolve(p);
      return true;
    } catch {
      return false;
    }
  });

  test(
    'asking for tfjs-node where it is not installed says how to install it',
    { skip: hasTfNode ? 'tfjs-node is installed here' : false },
    async () => {
      await assert.rejects(
        initBackend('tensorflow', true),
        (e: unknown) =>
          e instanceof UserError &&
          /backend 'tensorflow' \(from --backend\) is not available: neither @tensorflow\/tfjs-node nor @tensorflow\/tfjs-node-gpu is installed; install it with `npm install @tensorflow\/tfjs-node`/.test(
            e.message,
          ),
      );
    },
  );

  test('POSTER_STUDIO_BACKEND=wasm in a fresh process: one line naming wasm', () => {
    const backendJs = fileURLToPath(new URL('../engine/backend.js', import.meta.url));
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { initBackend } = await import(${JSON.stringify(backendJs)}); const { tf } = await import(${JSON.stringify(backendJs.replace(/backend\.js$/, 'tf.js'))});
       const name = await initBackend(); console.log(name, tf.getBackend());`,
      ],
      {
        env: { ...process.env, POSTER_STUDIO_BACKEND: 'wasm' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'wasm wasm');
    assert.match(r.stderr, /^backend: wasm \((no )?SIMD, 1 thread\)$/m);
  });
  test('POSTER_STUDIO_SIMD forces a SIMD path: the backend line names it; a path the CPU lacks or an unknown one is refused in one line', async (t) => {
    const { nativeAddon } = await import('../engine/native/backend.js');
    const addon = nativeAddon();
    assert.ok(addon, 'the native addon is unavailable');
    const supported = addon.info().supported;
    const backendJs = fileURLToPath(new URL('../engine/backend.js', import.meta.url));
    const run = (simd: string) =>
      spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { initBackend } = await import(${JSON.stringify(backendJs)});
       try { console.log(await initBackend()); } catch (e) { console.error('error: ' + e.message); process.exit(2); }`,
        ],
        {
          env: { ...process.env, POSTER_STUDIO_BACKEND: 'native', POSTER_STUDIO_SIMD: simd },
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
    for (const simd of ['avx512', 'avx2', 'portable']) {
      const r = run(simd);
      if (supported.includes(simd)) {
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`^backend: native \\(${simd}, \\d+ threads?\\)$`, 'm'));
      } else {
        t.diagnostic(`this CPU lacks ${simd}: checked that forcing it is refused`);
        assert.equal(r.status, 2);
        assert.match(
          r.stderr,
          new RegExp(`^error: POSTER_STUDIO_SIMD=${simd}: this CPU cannot run the ${simd} kernels`, 'm'),
        );
      }
    }
    const bad = run('sse9');
    assert.equal(bad.status, 2);
    assert.match(
      bad.stderr,
      /^error: POSTER_STUDIO_SIMD=sse9 is not a SIMD path \(accepted: avx512, avx2, portable\)$/m,
    );
  });
});
