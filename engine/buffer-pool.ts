/**
 * Recycled Float32Array storage for kernel outputs on the 'native' backend.
 *
 * A training step allocates the same few activation-sized arrays (tens of MB each) every step.
 * Fresh large ArrayBuffers are mmap'ed by the allocator, so every first write takes a page fault
 * and the kernel zeroes the page; measured on a 17.5M-element ReLU: 100-140 ms into a new array
 * against ~50 ms into a reused one. Handing back the arrays of disposed tensors removes that cost
 * and the GC pressure of external memory.
 *
 * An array is recycled only when the backend that owns it disposes its last reference, and only if
 * it never escaped: readSync/read (dataSync, data(), arraySync) hand the array itself to callers who
 * may keep it after dispose, and a second registration means two tensors share it. Both mark the
 * array as shared for good.
 */

/** Arrays below this many elements come from the plain allocator: small ones are cheap. */
export const POOL_MIN_ELEMENTS = 1 << 16;
/** Upper bound of bytes kept idle in the pool; beyond it the longest-idle sizes go to the GC. */
let POOL_MAX_BYTES = 2 * 1024 ** 3;

const free = new Map<number, Float32Array[]>();
let idleBytes = 0;
/** Arrays this pool handed out and that may come back. */
const owned = new WeakSet<Float32Array>();
/** Arrays registered with a backend once (a second registration shares them). */
const registered = new WeakSet<Float32Array>();
/** Arrays seen outside the backend: never recycled. */
const escaped = new WeakSet<Float32Array>();

export const poolStats = { hits: 0, misses: 0, released: 0 };

/** Tells where a view starts within a 64-byte line; set by the native backend. */
let lineOffset: ((view: Uint8Array) => number) | null = null;

/**
 * Makes new pool arrays start on a 64-byte line. Large ArrayBuffers start 16 bytes into a page,
 * so AVX-512 stores into them split cache lines, and streaming stores (the dense layer's weight
 * gradient, impl_skinny.inc) need aligned rows: measured 60800x32 . 32x512 into an aligned array
 * 13 ms against 15-17 ms into the others (load ~2.7); a whole classifier step showed no difference
 * beyond its noise (about 5 ms).
 */
export function alignPoolArrays(probe: (view: Uint8Array) => number): void {
  lineOffset = probe;
}

function fresh(n: number): Float32Array {
  // allocUnsafeSlow skips the zero-fill and does not come from Node's small-buffer slab.
  if (!lineOffset) {
    const b = Buffer.allocUnsafeSlow(n * 4);
    return new Float32Array(b.buffer, b.byteOffset, n);
  }
  const b = Buffer.allocUnsafeSlow(n * 4 + 64);
  const skip = (64 - lineOffset(b)) % 64;
  return new Float32Array(b.buffer, b.byteOffset + (skip % 4 === 0 ? skip : 0), n);
}

/**
 * Storage for `n` floats. Contents are undefined unless `zero` is set: kernels that write every
 * element skip a pass; accumulating kernels ask for zeros.
 */
export function allocFloats(n: number, zero = false): Float32Array {
  if (n < POOL_MIN_ELEMENTS) return new Float32Array(n);
  const list = free.get(n);
  let a = list?.pop();
  if (a) {
    idleBytes -= a.byteLength;
    poolStats.hits++;
    if (zero) a.fill(0);
  } else {
    poolStats.misses++;
    a = fresh(n);
    if (zero) a.fill(0);
    owned.add(a);
  }
  return a;
}

/** Called by the backend when a tensor's data is registered: a second registration shares it. */
export function noteRegistered(values: unknown): void {
  if (!(values instanceof Float32Array) || !owned.has(values)) return;
  if (registered.has(values)) escaped.add(values);
  else registered.add(values);
}

/** Called by the backend when it hands an array to code outside the kernels. */
export function noteEscaped(values: unknown): void {
  if (values instanceof Float32Array && owned.has(values)) escaped.add(values);
}

/** Called by the backend after it dropped the last reference to `values`. */
export function releaseFloats(values: unknown): void {
  if (!(values instanceof Float32Array) || !owned.has(values) || escaped.has(values)) return;
  registered.delete(values);
  if (values.byteLength > POOL_MAX_BYTES) {
    owned.delete(values);
    return;
  }
  evictFor(values.byteLength, values.length);
  let list = free.get(values.length);
  if (!list) free.set(values.length, (list = []));
  else {
    // The most recently used size goes last, so eviction takes the sizes idle the longest.
    free.delete(values.length);
    free.set(values.length, list);
  }
  list.push(values);
  idleBytes += values.byteLength;
  poolStats.released++;
}

/**
 * Makes room for `bytes` more idle bytes by dropping arrays of the sizes released longest ago
 * (other than `keep`): when one process runs several models (the benchmark runs the DCGAN, then
 * the classifier) the new model's sizes must not find the pool full of the old one's.
 */
function evictFor(bytes: number, keep: number): void {
  for (const [n, list] of free) {
    if (idleBytes + bytes <= POOL_MAX_BYTES) return;
    if (n === keep) continue;
    while (list.length && idleBytes + bytes > POOL_MAX_BYTES) {
      const a = list.pop()!;
      owned.delete(a);
      idleBytes -= a.byteLength;
    }
    if (!list.length) free.delete(n);
  }
  const own = free.get(keep);
  while (own?.length && idleBytes + bytes > POOL_MAX_BYTES) {
    const a = own.pop()!;
    owned.delete(a);
    idleBytes -= a.byteLength;
  }
}

/**
 * True when `values` came from this pool and never left the backend (no readSync/dataSync, no
 * second registration): the one tensor it is registered to is its only holder, so an op that
 * owns that tensor may overwrite it (the optimizers' in-place weight update).
 */
export function isPrivate(values: unknown): boolean {
  return values instanceof Float32Array && owned.has(values) && registered.has(values) && !escaped.has(values);
}

/** Drops every idle array (tests; a long-lived process that changes model sizes). */
export function drainPool(): void {
  free.clear();
  idleBytes = 0;
}

/** Sets the idle-bytes bound (tests; a memory-tight machine), evicting down to it. */
export function setPoolLimit(bytes: number): void {
  POOL_MAX_BYTES = bytes;
  evictFor(0, -1);
}

export function poolIdleBytes(): number {
  return idleBytes;
}
