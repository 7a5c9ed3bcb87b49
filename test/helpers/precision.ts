/**
 * What the `--precision` suites of `dcgan train` and `classifier train` share: whether this
 * process may run bf16 (AMX), the refusals every machine checks (POSTER_STUDIO_AMX=0 stands for a
 * CPU without AMX) and how a refusal must look.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeAddon } from '../../engine/native/backend.js';

export const AMX = nativeAddon()?.info().amx ?? false;

/** Flags, extra environment and the error each must give, whatever else the command is asked. */
export const PRECISION_REFUSALS: [string[], Record<string, string>, RegExp][] = [
  [['--precision', 'bf16', '--backend', 'native'], { POSTER_STUDIO_AMX: '0' }, /--precision bf16 needs AMX-BF16/],
  [['--precision', 'bf16', '--backend', 'cpu'], {}, /--precision bf16 needs the native backend \(running: cpu\)/],
  [['--precision', 'fp16'], {}, /--precision takes one of fp32, bf16/],
];

/** Exit 2 and one `error:` line matching `re` (the backend and note lines aside). */
export function assertRefused(r: { code: number | null; stderr: string }, what: string, re: RegExp): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('backend:') && !l.startsWith('note:'));
  assert.equal(lines.length, 1, `${what}: one line, got\n${r.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, re);
}

/** Where AMX is missing, a test whose name says the bf16 run was not done here. */
export function amxNotTested(command: string): void {
  test('[amx] NOT TESTED: this CPU (or OS) has no usable AMX-BF16, so no bf16 training run here', (t) => {
    t.diagnostic(`${command} --precision bf16 was not run on this machine`);
    assert.equal(AMX, false);
  });
}
