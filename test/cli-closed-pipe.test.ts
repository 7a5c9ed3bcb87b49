/**
 * A reader that stops early (`dcgan train --help | head -3`) closes the pipe under stdout: every
 * command ends quietly with its own exit code, no Node stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bins = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).bin as Record<
  string,
  string
>;

/** Runs `node <bin> ...args` with its stdout pipe closed before it writes; its exit code and stderr. */
function withClosedStdout(bin: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

for (const [name, file] of Object.entries(bins)) {
  test(`${name} --help into a closed pipe exits 0 without a stack trace`, async () => {
    const r = await withClosedStdout(file, ['--help']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
  });
}

test('a bad flag into a closed pipe keeps its one-line error and exit code 2', async () => {
  const r = await withClosedStdout(bins.dcgan!, ['train', '--epochs', 'many']);
  assert.match(r.stderr, /^error: .*--epochs/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(r.code, 2);
});
