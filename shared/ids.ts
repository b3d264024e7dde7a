/** Identifiers from a CSPRNG. */
import { randomBytes } from 'node:crypto';

/**
 * CSPRNG bytes taken from a pool refilled 4 KiB at a time, each byte used once: a create takes
 * three ids, and one getrandom call per id cost ~10 µs each on a busy VM (as Node's randomUUID,
 * which caches its entropy the same way).
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;
function random(n: number): Buffer {
  if (used + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  used += n;
  return pool.subarray(used - n, used);
}

/** A socket id is a bearer credential: 144 random bits, URL-safe. */
export function newSocketId(): string {
  return random(18).toString('base64url');
}

/** A DNS label of its own, unrelated to the socket id (host names land in DNS and proxy logs). */
export function newUniqLabel(): string {
  return `u${random(6).toString('hex')}`;
}

/** 72 random bits: request ids, and a relay's run (which pages hold as `run`). */
export function newRequestId(): string {
  return random(9).toString('base64url');
}

export const SOCKET_ID = /^[A-Za-z0-9_-]{22,64}$/;
export const REQUEST_ID = /^[A-Za-z0-9_-]{12}$/;
