/**
 * Origin patterns from a token's `origins` claim: `*`, an exact origin
 * (`https://app.example.com[:port]`), or `https://*.example.com` for any subdomain.
 */
import { defaultPort, HOST_PATTERN, portOf } from '../shared/urls';

export type OriginRule = { any: true } | { any: false; scheme: string; host: string; anySubdomain: boolean; port: string };

const PATTERN = new RegExp(String.raw`^(https?)://(\*\.)?(${HOST_PATTERN})(?::(\d{1,5}))?/?$`, 'i');

export function parseOriginRule(pattern: string): OriginRule {
  if (pattern === '*') return { any: true };
  const m = PATTERN.exec(pattern);
  if (!m) throw new Error(`origin pattern ${JSON.stringify(pattern.slice(0, 100))} is not *, or http[s]://host[:port]`);
  const scheme = m[1].toLowerCase();
  return { any: false, scheme, host: m[3].toLowerCase(), anySubdomain: m[2] !== undefined, port: m[4] ?? defaultPort(scheme) };
}

/** `origin` is already normalised (scheme://host[:port]). */
export function originAllowed(rules: readonly OriginRule[], origin: string): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  const scheme = u.protocol.slice(0, -1);
  const host = u.hostname.toLowerCase();
  const port = portOf(u);
  return rules.some(
    (r) => r.any || (r.scheme === scheme && r.port === port && (r.anySubdomain ? host.endsWith(`.${r.host}`) : host === r.host)),
  );
}
