/**
 * URL facts both roles rely on, decided once: the default port of each scheme, and what a host
 * looks like in a pattern or a setting (a DNS name or a bracketed IPv6 literal).
 */

/** A DNS name (letters, digits, hyphens, dots) or a bracketed IPv6 literal; for building patterns. */
export const HOST_PATTERN = String.raw`[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\]`;

/** `host` or `host:port`: PUBLIC_HOST, and a request's Host header before it is put in a URL. */
export const HOST_AND_PORT = new RegExp(String.raw`^(?:${HOST_PATTERN})(?::\d{1,5})?$`, 'i');

const SECURE = new Set(['https', 'https:', 'wss', 'wss:']);

/** '443' for https/wss, '80' for http/ws (with or without the trailing colon). */
export function defaultPort(scheme: string): string {
  return SECURE.has(scheme.toLowerCase()) ? '443' : '80';
}

/** The port a URL connects to, explicit or the scheme's default. */
export function portOf(u: URL): string {
  return u.port || defaultPort(u.protocol);
}
