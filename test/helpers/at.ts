import assert from 'node:assert/strict';

/** arr[i] in a test: an index out of range fails there, naming it, rather than later as NaN. */
export function at<T>(arr: ArrayLike<T>, i: number, what = 'value'): T {
  const v = arr[i];
  assert.ok(v !== undefined, `${what}[${i}]: out of range (length ${arr.length})`);
  return v;
}
