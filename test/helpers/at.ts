import assert from 'node:assert/strict';

/** arr[i] in a test: an index out of range fails there, naming it, rather than later as NaN. */
export function at<T>(arr: ArrayLike<T>, i: number, what = 'value'): T {
  const v = arr[i];
  // The message is built only on failure: at() runs inside element loops.
  if (v === undefined) assert.fail(`${what}[${i}]: out of range (length ${arr.length})`);
  return v;
}
