/**
 * `git clone` names the folder `poster-studio`, the same word as the studio's bin: a test that
 * builds paths by rewriting that word breaks in a fresh clone. This copies the compiled tree
 * (node_modules and the native build linked, not copied) into a folder named poster-studio and
 * runs the dcgan command-line suite there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from './helpers/shared-data.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'clone-folder-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the dcgan command-line tests pass in a clone whose folder is named poster-studio', () => {
  const clone = path.join(root, 'poster-studio');
  cpSync(path.join(REPO_ROOT, 'dist'), path.join(clone, 'dist'), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'package.json'), path.join(clone, 'package.json'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(clone, 'node_modules'));
  if (existsSync(path.join(REPO_ROOT, 'build'))) symlinkSync(path.join(REPO_ROOT, 'build'), path.join(clone, 'build'));
  // The runner marks its children with NODE_TEST_CONTEXT; a nested run must not inherit it.
  const env: Record<string, string | undefined> = { ...process.env, CI: '1' };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(
    process.execPath,
    [
      '--test',
      '--test-reporter=tap',
      '--test-concurrency=1',
      '--test-name-pattern=dcgan train then render',
      path.join(clone, 'dist/test/dcgan-cli.test.js'),
    ],
    { cwd: clone, encoding: 'utf8', env, timeout: 300_000 },
  );
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, out);
  // The pattern must have matched a test that ran, not filtered everything away.
  assert.match(out, /# pass [1-9]/, out);
  assert.match(out, /# fail 0/, out);
});
