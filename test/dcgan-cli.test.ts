import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { probeVideo } from '../src/features/video/probe.js';
import { makeDcganFixture } from './helpers/dcgan-fixture.js';
import { tempDir } from './helpers/temp-dir.js';
import { TINY_DCGAN_CLI } from './helpers/tiny-flags.js';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'dcgan.js');
const STUDIO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'poster-studio.js');

let data = '';
before(async () => {
  data = await makeDcganFixture(12);
});

function run(
  args: string[],
  bin = BIN,
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bad flags exit 2 with one error line naming the flag, and write nothing', async () => {
  const out = path.join(await tempDir('dcgan-cli-bad-'), 'out');
  const cases: [string[], RegExp][] = [
    [
      ['train', '--input', data, '--output', out, '--output_width', '4'],
      /--output_width takes a whole number from 8 to 1024/,
    ],
    [['train', '--input', data, '--output', out, '--activation_g', 'foo'], /--activation_g takes one of relu/],
    [['train', '--input', data, '--output', out, '--render_res', '123x45'], /--render_res takes WIDTHxHEIGHT/],
    [
      ['train', '--input', path.join(out, 'nope'), '--output', out],
      /--input: .* is not a directory; run prepare-dcgan first/,
    ],
    [
      ['train', '--input', data, '--output', out, '--grid-height', '0'],
      /--grid_height takes a whole number from 1 to 64/,
    ],
    [['render', '--input', data], /has no grid_\*\.png/],
    [['generate', '--checkpoint', data, '--output', out], /--checkpoint: no checkpoint in/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('backend:'));
    assert.equal(lines.length, 1, `${args.join(' ')}: one line, got\n${r.stderr}`);
    assert.match(lines[0]!, /^error: /);
    assert.match(lines[0]!, re);
  }
  assert.ok(!existsSync(out), 'nothing written');
});

test('dcgan train then render from the command line; poster-studio dcgan is the same command', async () => {
  const out = path.join(await tempDir('dcgan-cli-ok-'), 'samples');
  const t = run(
    [
      'train',
      '--input',
      data,
      '--output',
      out,
      '--iterations',
      '3',
      '--sample_rate',
      '1',
      '--render_video',
      'false',
      '--auto_render_period',
      '2',
      ...TINY_DCGAN_CLI,
    ],
    BIN,
  );
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /trained 3 iterations .* on cpu: [\d.]+ images\/s; 4 grids/);
  assert.ok(existsSync(path.join(out, 'checkpoints', 'ckpt_000003', 'state.json')));
  // --auto_render_period 2 rendered the video of grids 0-2 during training.
  assert.equal((await probeVideo(path.join(out, 'train.mp4'))).frames, 3);
  const r = run(['dcgan', 'render', '--input', out, '--video_length', '2'], STUDIO);
  assert.equal(r.code, 0, r.stderr);
  const info = await probeVideo(path.join(out, 'train.mp4'));
  assert.equal(info.frames, 4);
  const noFfmpeg = run(['render', '--input', out], BIN, { FFMPEG_PATH: path.join(out, 'no-ffmpeg') });
  assert.equal(noFfmpeg.code, 2);
  assert.match(
    noFfmpeg.stderr,
    /^error: FFMPEG_PATH=.*no-ffmpeg does not exist; point it at an ffmpeg binary or unset it$/m,
    noFfmpeg.stderr,
  );
  const again = run(['train', '--input', data, '--output', out, '--iterations', '3', ...TINY_DCGAN_CLI]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds a training run .*--resume/);
  const help = run(['train', '--help']);
  assert.equal(help.code, 0);
  for (const flag of [
    '--learning-rate-g',
    '--nbr-g-updates',
    '--auto-render-period',
    '--use-checkpoints',
    '--resume',
    '--backend',
  ])
    assert.ok(help.stdout.includes(flag), `help lists ${flag}`);
});
