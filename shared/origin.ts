/**
 * The page origin of a request: `Origin` when the browser sent one, else the origin of
 * `Referer` (script loads send no Origin). Undefined when neither is usable.
 */
import type { IncomingMessage } from 'node:http';

export function requestOrigin(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== '' && origin !== 'null') return normalizeOrigin(origin);
  const referer = req.headers.referer;
  if (typeof referer === 'string' && referer !== '') return normalizeOrigin(referer);
  return undefined;
}

/** scheme://host[:port], lower-cased, default ports dropped; undefined for anything else. */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}
