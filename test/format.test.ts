/**
 * The formatter's check is part of the suite, so a change that skips `npm run format` fails CI
 * with the list of files, instead of drifting back to hand-aligned 300-column lines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './helpers/shared-data.js';

test('every source file is formatted by prettier (npm run format fixes it)', () => {
  const prettier = path.join(REPO_ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
  const r = spawnSync(process.execPath, [prettier, '--check', '--log-level', 'warn', '.'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `prettier --check found unformatted files (run npm run format):\n${r.stdout}${r.stderr}`);
});
