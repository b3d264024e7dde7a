/**
 * Target patterns from a token's `targets` claim, matched against a parsed target URL.
 * Pattern: `ws[s]://host[:port][/path-prefix]`
 *   host   exact, or `*.example.com` for any subdomain (not example.com itself)
 *   port   exact, `*` for any, or omitted for the scheme's default port
 *   path   omitted or `/` for any path, else a prefix ending at a `/` boundary
 * No regular expression from a token is ever evaluated.
 */
import { defaultPort, HOST_PATTERN, portOf } from '../shared/urls';
export interface TargetRule {
  scheme: 'ws:' | 'wss:';
  host: string;
  anySubdomain: boolean;
  port: string;
  pathPrefix: string;
}

const PATTERN = new RegExp(String.raw`^(wss?)://(\*\.)?(${HOST_PATTERN})(?::(\d{1,5}|\*))?(/[^?#\s]*)?$`, 'i');

export function parseTargetRule(pattern: string): TargetRule {
  const m = PATTERN.exec(pattern);
  if (!m) throw new Error(`target pattern ${JSON.stringify(pattern.slice(0, 100))} is not ws[s]://host[:port][/path]`);
  const scheme = `${m[1].toLowerCase()}:` as 'ws:' | 'wss:';
  return {
    scheme,
    host: m[3].toLowerCase(),
    anySubdomain: m[2] !== undefined,
    port: m[4] ?? defaultPort(scheme),
    pathPrefix: m[5] && m[5] !== '/' ? m[5] : '',
  };
}

export function targetAllowed(rules: readonly TargetRule[], target: URL): boolean {
  return rules.some((r) => matches(r, target));
}

function matches(r: TargetRule, t: URL): boolean {
  if (t.protocol !== r.scheme) return false;
  const host = t.hostname.toLowerCase();
  if (r.anySubdomain ? !host.endsWith(`.${r.host}`) : host !== r.host) return false;
  if (r.port !== '*' && r.port !== portOf(t)) return false;
  if (!r.pathPrefix) return true;
  const prefix = r.pathPrefix.endsWith('/') ? r.pathPrefix : `${r.pathPrefix}/`;
  return t.pathname === r.pathPrefix || t.pathname.startsWith(prefix);
}
