/**
 * The README's main command, `poster-studio demo`, end to end in its small form (--quick): every
 * step runs as a real command, and the outputs a user is pointed at exist and are what they say.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runCli } from './helpers/run-cli.js';
import { postJson, request } from './helpers/http.js';
import { serveThen } from './helpers/serve-fixture.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'ps-demo-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('demo --quick runs every step and points at outputs that exist', async () => {
  const r = await runCli(['demo', '--quick', '--workdir', work], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  for (const step of [
    'synth',
    'classifier train',
    'prepare-dcgan',
    'dcgan train',
    'classify samples/',
    'fid',
    'report',
  ]) {
    assert.ok(r.stderr.includes(`$ poster-studio ${step}`), `the demo ran '${step}'`);
  }
  // "(skipped: ...)" would follow the time when a step's command is missing from the build.
  assert.match(r.stdout, /demo finished in \d+ s\n/);
  const at = (f: string) => path.join(work, f);
  assert.ok(statSync(at('samples/train.mp4')).size > 1000, 'a training video');
  const grids = readdirSync(at('samples')).filter((f) => /^grid_\d+\.png$/.test(f));
  assert.ok(grids.length >= 2, `sample grids: ${grids.join(', ')}`);
  const html = readFileSync(at('reports/report.html'), 'utf8');
  assert.ok(html.includes('data:image/png;base64,'), 'the report embeds its images');
  const scores = JSON.parse(readFileSync(at('samples/scores.json'), 'utf8')) as {
    grids: { cells: { scores: Record<string, number> }[] }[];
  };
  assert.equal(scores.grids.length, grids.length, 'every grid was scored');
  assert.equal(scores.grids[0]!.cells.length, 60, 'each of the 6x10 posters');
  assert.equal(Object.keys(scores.grids[0]!.cells[0]!.scores).length, 7, 'by the 7 demo genres');

  // The demo's last word is `serve` on what it made; that command starts and makes a poster.
  const serve = /^ {2}(?:cd \S+ && )?npx poster-studio serve (.+)$/m.exec(r.stdout);
  assert.ok(serve, `the demo ends by pointing at serve: ${r.stdout.slice(-400)}`);
  const s = await serveThen(
    serve[1]!.split(' '),
    'SIGTERM',
    async (port) => {
      assert.equal(
        ((await request(port, 'GET', '/api/info')).json() as { classifier: { name: string } }).classifier.name,
        'demo',
      );
      const g = await postJson(port, '/api/generate', { count: 1, seed: 1 });
      assert.equal(g.status, 200, g.body.toString());
    },
    work,
  );
  assert.equal(s.code, 0, s.stderr);
});
