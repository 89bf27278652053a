// A free list of float32 buffers, so that a training step reuses the memory of the step before.
//
// Why: a step allocates hundreds of megabytes of activations and gradients and drops them all
// again. Large typed arrays live outside the JavaScript heap, and V8 starts a garbage collection
// each time such external memory grows by a few tens of megabytes, so a fresh allocation per
// value costs collections (and zero-filling) on every step. `backward()` hands the buffers it
// knows to be dead back here, and the next step's ops take them out again.
//
// Buffers are grouped into size classes a quarter power of two apart (at most 19% unused), so a
// batch whose length differs a little from the last one still finds a buffer. Small arrays are
// left to the garbage collector, which handles them cheaply. Only buffers allocated here can be
// released here; anything else is ignored, so releasing is always safe to attempt.

/** Arrays smaller than this are not pooled. */
const MIN_BYTES = 16 * 1024;
/** The pool stops keeping buffers beyond this many bytes (the rest goes to the collector). */
const MAX_POOLED_BYTES = 2 ** 31;
/** A request may take a buffer up to this many size classes larger (4 classes: twice the bytes). */
const LARGER_CLASSES = 4;

const free = new Map<number, ArrayBuffer[]>();
/** Buffers this pool allocated (the only ones it will take back). */
const owned = new WeakSet<ArrayBuffer>();
/** Buffers sitting in the free lists, to refuse a second release of the same buffer. */
const idle = new WeakSet<ArrayBuffer>();
let pooledBytes = 0;
/** Bytes of fresh buffers allocated here so far (memory touched for the first time). */
let freshBytes = 0;
let poison = false;
/** Open withScratch() scopes, innermost last: the pooled arrays each has handed out. */
const scopes: Float32Array[][] = [];

/** Capacity in bytes of size class c (a multiple of 64 bytes). */
function capacity(c: number): number {
  return Math.ceil(2 ** (c / 4) / 64) * 64;
}

/** The smallest size class whose capacity holds `bytes`. */
function classOf(bytes: number): number {
  let c = Math.ceil(4 * Math.log2(bytes));
  while (capacity(c) < bytes) c++;
  while (c > 0 && capacity(c - 1) >= bytes) c--;
  return c;
}

/**
 * A float32 array of n elements. With `zero` (the default) every element is 0, as from
 * `new Float32Array(n)`; without it the contents are whatever the last user left, for outputs
 * a kernel overwrites completely. With `scoped` false, an open withScratch() scope does not
 * count the array as its own (storage that outlives the scope, such as a KV cache filled
 * inside one; its owner releases it).
 */
export function allocF32(n: number, zero = true, scoped = true): Float32Array {
  const bytes = n * 4;
  let a: Float32Array;
  if (bytes < MIN_BYTES) {
    a = new Float32Array(n);
  } else {
    const c = classOf(bytes);
    const buffer = takeFree(c);
    if (buffer !== undefined) {
      idle.delete(buffer);
      pooledBytes -= buffer.byteLength;
      a = new Float32Array(buffer, 0, n);
      if (zero) a.fill(0);
    } else {
      const fresh = new ArrayBuffer(capacity(c));
      freshBytes += fresh.byteLength;
      owned.add(fresh);
      a = new Float32Array(fresh, 0, n);
    }
    if (scoped) scopes[scopes.length - 1]?.push(a);
  }
  if (!zero && poison) a.fill(Number.NaN);
  return a;
}

/**
 * An idle buffer of size class c, or else of the nearest larger class up to LARGER_CLASSES above
 * it, or undefined. Why larger ones: work whose sizes move (a batch of sources a little shorter
 * than the one before, a beam batch thinning out) would otherwise find its exact class empty
 * and take fresh memory, whose first touch costs a page fault per 4 KiB (about 0.6 ms per MB on
 * a 2-vCPU virtual machine), while a buffer a little larger sits idle.
 */
function takeFree(c: number): ArrayBuffer | undefined {
  for (let d = c; d <= c + LARGER_CLASSES; d++) {
    const buffer = free.get(d)?.pop();
    if (buffer !== undefined) return buffer;
  }
  return undefined;
}

/**
 * Gives the memory behind `a` back for reuse. The caller promises that nothing reads or writes
 * `a`, or any other view of its buffer, afterwards. Arrays not from `allocF32` are ignored.
 */
export function releaseF32(a: Float32Array): void {
  const buffer = a.buffer;
  if (!(buffer instanceof ArrayBuffer) || !owned.has(buffer) || idle.has(buffer)) return;
  if (pooledBytes + buffer.byteLength > MAX_POOLED_BYTES) return;
  const c = classOf(buffer.byteLength);
  let list = free.get(c);
  if (list === undefined) {
    list = [];
    free.set(c, list);
  }
  list.push(buffer);
  idle.add(buffer);
  pooledBytes += buffer.byteLength;
}

/**
 * For tests: while on, every array requested without zeroing comes filled with NaN, so that an
 * op which promised to overwrite its output (or a gradient buffer) and left part of it unwritten
 * gives NaN instead of passing on the zeros a new buffer happens to hold.
 */
export function poisonUnzeroedF32(on: boolean): void {
  poison = on;
}

/**
 * Runs `fn` and then gives back to the pool every buffer it took from here, except those behind
 * the arrays `keep(result)` names (which then count as taken by the enclosing scope, if any).
 *
 * Why: inference under noGrad() has no backward pass to recycle its intermediate values, so
 * each call (one source sentence through the encoder) would take fresh memory until the garbage
 * collector frees the last call's; on a virtual machine every first touch of a fresh page costs
 * a fault of ~10 us, and a decode of 32 tokens spent a third of its time so. Only for code that
 * keeps nothing it computed beyond what `keep` names: an array released here is rewritten by the
 * next user. If `fn` throws, nothing is released.
 */
export function withScratch<T>(fn: () => T, keep: (result: T) => readonly Float32Array[]): T {
  const mine: Float32Array[] = [];
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const kept = new Set<ArrayBufferLike>(keep(result).map((a) => a.buffer));
  const parent = scopes[scopes.length - 1];
  for (const a of mine) {
    if (!kept.has(a.buffer)) releaseF32(a);
    else parent?.push(a);
  }
  return result;
}

/** Bytes held in the free lists, for tests and diagnostics. */
export function pooledF32Bytes(): number {
  return pooledBytes;
}

/** Bytes of fresh buffers the pool has allocated so far, for tests and diagnostics. */
export function freshF32Bytes(): number {
  return freshBytes;
}

/** Drops every idle buffer (to the garbage collector). */
export function clearF32Pool(): void {
  free.clear();
  pooledBytes = 0;
}
