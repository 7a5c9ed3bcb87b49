/**
 * Commands that set inputs aside name the first ten on stderr and say where the rest are: a list
 * file in their output folder (claimed as theirs), or, for classify printing to stdout, a count.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { OWNED_LIST } from '../src/core/fs/ownership.js';
import { REPO_ROOT } from './helpers/shared-data.js';
import { writeFullRun } from './helpers/samples-fixture.js';
import { tempDir } from './helpers/temp-dir.js';

const CLI = path.join(REPO_ROOT, 'dist/cli/poster-studio.js');
const run = promisify(execFile);
const BROKEN = 12;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('skipped');
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** BROKEN files named name_00.ext..name_11.ext that no decoder accepts. */
async function writeBroken(dir: string, name: string, ext: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < BROKEN; i++) {
    const f = path.join(dir, `${name}_${String(i).padStart(2, '0')}.${ext}`);
    await fs.writeFile(f, 'not an image at all');
    files.push(f);
  }
  return files;
}

/** The ten named lines, in the order the list (or the command) gives them, and what follows. */
function skippedLines(stderr: string, what: string): { named: string[]; after: string } {
  const lines = stderr.split('\n');
  const head = lines.findIndex((l) => l === `${what}: skipped ${BROKEN}:`);
  assert.ok(head >= 0, `no "${what}: skipped ${BROKEN}:" line in:\n${stderr}`);
  const named = lines.slice(head + 1).filter((l) => l.startsWith('  skipped '));
  assert.equal(named.length, 10, `exactly ten named:\n${stderr}`);
  assert.deepEqual(lines.slice(head + 1, head + 11), named, 'the ten follow the count line');
  return { named, after: lines[head + 11]! };
}

/** The list file holds all of them, `file<TAB>reason` in stderr's order, and is claimed as ours. */
async function checkList(list: string, broken: string[], named: string[], reason: RegExp): Promise<void> {
  const rows = (await fs.readFile(list, 'utf8')).split('\n');
  assert.equal(rows.pop(), '', 'ends with a newline');
  assert.deepEqual(rows.map((r) => r.split('\t')[0]).sort(), [...broken].sort());
  for (const r of rows) assert.match(r.split('\t')[1]!, reason);
  assert.deepEqual(
    rows.slice(0, 10).map((r) => `  skipped ${r.replace('\t', ': ')}`),
    named,
  );
  const owned = (await fs.readFile(path.join(path.dirname(list), OWNED_LIST), 'utf8')).split('\n');
  assert.ok(owned.includes(path.basename(list)), `${path.basename(list)} is in ${OWNED_LIST}`);
}

test('classify on grids: ten named on stderr, the full list in skipped-inputs.txt beside classify.json', () =>
  withDir(async (root) => {
    const { samples, modelDir } = await writeFullRun(root);
    const broken = await writeBroken(samples, 'notes', 'txt');
    const r = await run(process.execPath, [CLI, 'classify', '--model', modelDir, samples], { cwd: root });
    const list = path.join(samples, 'skipped-inputs.txt');
    const { named, after } = skippedLines(r.stderr, 'classify');
    assert.equal(after, `  ... 2 more; the full list is in ${list}`);
    await checkList(list, broken, named, /^not an image$/);
  }));

test('classify on single posters: ten named, the rest counted, no list file (the scores go to stdout)', () =>
  withDir(async (root) => {
    const { modelDir, real } = await writeFullRun(root);
    await writeBroken(real, 'broken', 'jpg');
    const r = await run(process.execPath, [CLI, 'classify', '--model', modelDir, real], { cwd: root });
    const { named, after } = skippedLines(r.stderr, 'classify');
    for (const l of named) assert.match(l, /^ {2}skipped .*broken_\d\d\.jpg: ./);
    assert.equal(after, '  ... 2 more not shown');
    assert.ok(r.stdout.split('\n').filter((l) => l.trim()).length >= 16, 'the 16 good posters are still scored');
    assert.deepEqual(
      (await fs.readdir(real)).filter((n) => n.includes('skipped')),
      [],
    );
  }));

test('fid: ten named on stderr, the full list in <samples>/skipped-inputs.txt', () =>
  withDir(async (root) => {
    const { samples, modelDir, real } = await writeFullRun(root);
    const broken = await writeBroken(samples, 'notes', 'txt');
    await fs.rm(path.join(samples, 'fid.json')); // the fixture's, not claimed: fid would refuse to replace it
    const r = await run(
      process.execPath,
      [CLI, 'fid', '--real', real, '--samples', samples, '--model', modelDir, '--noise_count', '0'],
      { cwd: root },
    );
    const list = path.join(samples, 'skipped-inputs.txt');
    const { named, after } = skippedLines(r.stderr, 'fid');
    assert.equal(after, `  ... 2 more; the full list is in ${list}`);
    await checkList(list, broken, named, /^not an image$/);
  }));

test('report: ten broken real posters named on stderr, the full list in report-skipped.txt beside the page', () =>
  withDir(async (root) => {
    const { samples, modelDir, real } = await writeFullRun(root);
    const broken = await writeBroken(real, 'broken', 'jpg');
    const out = path.join(root, 'out/report.html');
    const r = await run(
      process.execPath,
      [
        CLI,
        'report',
        '--samples',
        samples,
        '--model',
        modelDir,
        '--real',
        real,
        '--real_count',
        '100',
        '--saliency_posters',
        '0',
        '-o',
        out,
      ],
      { cwd: root },
    );
    const list = path.join(root, 'out/report-skipped.txt');
    const { named, after } = skippedLines(r.stderr, 'report');
    assert.equal(after, `  ... 2 more; the full list is in ${list}`);
    await checkList(list, broken, named, /^cannot decode$/);
  }));
