/**
 * `poster-studio serve` as a user starts it: it says which models it loaded, prints
 * `listening on http://127.0.0.1:PORT` once it accepts connections (--port 0 picks a free port),
 * warns when --host leaves loopback, stops cleanly on SIGTERM and SIGINT, and bad flags or a
 * missing model are one line and exit code 2.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { shippedModel, shippedPath, type ShippedKind } from '../src/artifacts/default-models.js';
import { errorLines, hasStackTrace, runCli } from './helpers/run-cli.js';
import {
  makeServeFixture,
  removeServeFixture,
  SERVE_CLASSIFIER_NAME,
  serveThen,
  type ServeFixture,
} from './helpers/serve-fixture.js';
import { request } from './helpers/http.js';

let fx: ServeFixture;
before(async () => {
  fx = await makeServeFixture();
});
after(async () => {
  if (fx) await removeServeFixture(fx);
});

const modelArgs = () => [
  '--model',
  fx.modelDir,
  '--checkpoint',
  fx.checkpoint,
  '--samples',
  fx.samples,
  '--backend',
  'cpu',
];

test(
  'serve --port 0: one line per model, then the listening line; it answers; SIGTERM stops it with exit 0',
  { timeout: 120_000 },
  async () => {
    const r = await serveThen(modelArgs(), 'SIGTERM', async (port) => {
      assert.ok(port > 0);
      const info = await request(port, 'GET', '/api/info');
      assert.equal(info.status, 200);
      assert.equal((info.json() as { classifier: { name: string } }).classifier.name, SERVE_CLASSIFIER_NAME);
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^classifier: .*tiny \(--model\)$/m);
    assert.match(r.stderr, /^generator: .*ckpt_000000, iteration 0 \(--checkpoint\)$/m);
    assert.match(r.stderr, /^SIGTERM: stopping\nstopped$/m);
    assert.doesNotMatch(r.stderr, /warning/);
  },
);

test(
  'serve --host 0.0.0.0 says in a warning line that the studio is reachable from the network; SIGINT stops it',
  { timeout: 120_000 },
  async () => {
    const r = await serveThen(['--host', '0.0.0.0', ...modelArgs()], 'SIGINT', async (port) => {
      assert.equal((await request(port, 'GET', '/api/info')).status, 200);
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: --host 0\.0\.0\.0: the studio is reachable from other machines/m);
    assert.match(r.stderr, /SIGINT: stopping/);
  },
);

test(
  'serve with no model given: the shipped defaults when there are, else one line naming the flags',
  { timeout: 120_000 },
  async () => {
    if (shippedModel('classifier') || shippedModel('generator')) {
      let info: { classifier: { name: string } | null; generator: { name: string } | null } | null = null;
      const r = await serveThen(['--backend', 'cpu'], 'SIGTERM', async (port) => {
        info = (await request(port, 'GET', '/api/info')).json() as NonNullable<typeof info>;
      });
      assert.equal(r.code, 0, r.stderr);
      // The page names them by what their own files say, not by their folders (classifier, generator).
      const own = async (kind: ShippedKind, file: string) =>
        JSON.parse(await fs.readFile(path.join(shippedPath(kind), file), 'utf8'));
      if (shippedModel('classifier'))
        assert.equal(info!.classifier!.name, (await own('classifier', 'metadata.json')).name);
      if (shippedModel('generator')) {
        const { source } = await own('generator', 'state.json');
        assert.equal(info!.generator!.name, `${source.run}/${source.checkpoint}`);
      }
      assert.match(r.stderr, /the shipped default/);
      if (shippedModel('classifier'))
        assert.match(r.stderr, /^classifier: .*models[\\/]default[\\/]classifier \(the shipped default\)$/m);
      return;
    }
    const r = await runCli(['serve', '--port', '0', '--backend', 'cpu'], { timeoutMs: 60_000 });
    assert.equal(r.code, 2);
    assert.deepEqual(errorLines(r.stderr), [
      `error: nothing to serve: no default classifier is shipped in ${shippedPath('classifier')} yet and --model was not given, and no default generator is shipped in ${shippedPath('generator')} yet and --checkpoint was not given; pass --model <classifier train output> and/or --checkpoint <dcgan train output>`,
    ]);
    assert.equal(r.stdout, '');
  },
);

test('bad flags and a busy port: one line, exit 2, no stack trace', { timeout: 120_000 }, async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const busyPort = (taken.address() as { port: number }).port;
  try {
    const cases: [string[], RegExp][] = [
      [['--port', '70000'], /^error: .*--port takes a whole number from 0 to 65535, got '70000'$/],
      [['--model', '/nonexistent/model'], /^error: .*--model: \/nonexistent\/model does not exist$/],
      [
        ['--port', String(busyPort), ...modelArgs()],
        new RegExp(`^error: --port: ${busyPort} is already in use; pick another or pass --port 0`),
      ],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['serve', ...args], { timeoutMs: 60_000 });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
      assert.match(errorLines(r.stderr)[0]!, message);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
    }
  } finally {
    taken.close();
  }
});

test('a shipped model counts only when all its files are there', async () => {
  const root = path.join(fx.root, 'shipped');
  assert.equal(shippedModel('classifier', root), null, 'absent');
  await fs.mkdir(path.join(root, 'classifier'), { recursive: true });
  await fs.writeFile(path.join(root, 'classifier', 'model.json'), '{}');
  assert.equal(shippedModel('classifier', root), null, 'model.json without metadata.json');
  await fs.writeFile(path.join(root, 'classifier', 'metadata.json'), '{}');
  assert.equal(shippedModel('classifier', root), path.join(root, 'classifier'));
  await fs.cp(fx.checkpoint, path.join(root, 'generator'), { recursive: true });
  assert.equal(shippedModel('generator', root), path.join(root, 'generator'));
});
