/** Identifiers from a CSPRNG. */
import { randomBytes } from 'node:crypto';

/** A socket id is a bearer credential: 144 random bits, URL-safe. */
export function newSocketId(): string {
  return randomBytes(18).toString('base64url');
}

/** A DNS label of its own, unrelated to the socket id (host names land in DNS and proxy logs). */
export function newUniqLabel(): string {
  return `u${randomBytes(6).toString('hex')}`;
}

export function newRequestId(): string {
  return randomBytes(9).toString('base64url');
}

export const SOCKET_ID = /^[A-Za-z0-9_-]{22,64}$/;
