/**
 * Parsing of /create's parameters: pure, strict, one error code per kind of bad input.
 */
import { PolysocketError } from '../shared/errors';

export const MAX_PROTOCOLS = 16;
export const MAX_FROM_LENGTH = 100;
export const MAX_TARGET_LENGTH = 2048;

/** Strictly an absolute ws: or wss: URL with a host and no credentials. */
export function parseTarget(raw: string | undefined): URL {
  if (!raw) throw new PolysocketError('bad_target', 'target (the ws: or wss: URL to open) is required');
  if (raw.length > MAX_TARGET_LENGTH) throw new PolysocketError('bad_target', `target is longer than ${MAX_TARGET_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\s\\]/.test(raw) || /[\u0000-\u001f\u007f]/.test(raw))
    throw new PolysocketError('bad_target', 'target contains whitespace, backslashes or control characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PolysocketError('bad_target', 'target is not an absolute URL');
  }
  // ws would also take ws+unix: and quietly turn http: into ws:; we take neither.
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new PolysocketError('bad_target', 'target scheme must be ws: or wss:');
  if (!url.hostname) throw new PolysocketError('bad_target', 'target has no host');
  if (url.username || url.password) throw new PolysocketError('bad_target', 'target must not carry credentials');
  if (url.hash) throw new PolysocketError('bad_target', 'target must not have a fragment');
  // Token path prefixes are matched on the parsed path, but many servers decode %2F (and %5C)
  // before routing, and the URL parser folds %2E dot segments away: none of them may hide here.
  const rawPath = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(raw)?.[1] ?? '';
  if (/%2f|%5c|%2e/i.test(rawPath)) {
    throw new PolysocketError('bad_target', 'target path must not carry encoded separators or dots (%2F, %5C, %2E)');
  }
  return url;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `protocols=a,b` -> ['a','b']; each an RFC 7230 token, no repeats (as the WebSocket constructor requires). */
export function parseProtocols(raw: string | undefined): string[] {
  if (raw === undefined || raw === '') return [];
  const list = raw.split(',').map((p) => p.trim());
  if (list.length > MAX_PROTOCOLS) throw new PolysocketError('bad_protocols', `at most ${MAX_PROTOCOLS} subprotocols`);
  if (list.some((p) => !TOKEN.test(p))) throw new PolysocketError('bad_protocols');
  if (new Set(list).size !== list.length) throw new PolysocketError('bad_protocols', 'subprotocols must not repeat');
  return list;
}

/** The client's name and version, for the logs: printable ASCII, bounded. */
export function parseFrom(raw: string | undefined): string {
  if (raw === undefined) return '';
  if (raw.length > MAX_FROM_LENGTH || !/^[\x20-\x7e]*$/.test(raw)) {
    throw new PolysocketError('bad_parameter', `from must be printable ASCII of at most ${MAX_FROM_LENGTH} characters`);
  }
  return raw;
}
