/**
 * Which addresses a relay may open upstreams to. By default nothing internal: loopback, private,
 * link-local (cloud metadata lives there), unique-local, multicast, reserved and the IPv6 forms
 * that embed an IPv4 address. Addresses are classified by net.BlockList, which parses them to
 * bytes (so `::ffff:7f00:1` is 127.0.0.1); the WHATWG URL parser already turned numeric tricks
 * such as `ws://2130706433` or `ws://0x7f.1` into dotted form.
 *
 * Two paths, both needed: an IP-literal host never reaches a custom `lookup`, so it is checked
 * up front (`checkLiteral`); a DNS name is checked inside `lookup`, on the very addresses the
 * socket then connects to, so a name cannot resolve to something else later (no rebinding gap).
 */
import dns from 'node:dns';
import { BlockList } from 'node:net';
import type { RequestOptions } from 'node:http';
import type { ClientOptions } from 'ws';
import { addRange, familyOf, parseTargetAllowance } from '../shared/addresses';
import { BAD_PORTS } from '../shared/bad-ports';
import { PolysocketError } from '../shared/errors';
import { portOf } from '../shared/urls';

const FORBIDDEN_V4: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const FORBIDDEN_V6: [string, number][] = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48], // NAT64: embeds an IPv4 address
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16], // discard, Teredo, docs, 6to4
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const forbidden = new BlockList();
for (const [a, p] of FORBIDDEN_V4) forbidden.addSubnet(a, p, 'ipv4');
for (const [a, p] of FORBIDDEN_V6) forbidden.addSubnet(a, p, 'ipv6');

/** ws passes these through to http.request, lookup included. */
export type UpstreamSocketOptions = Partial<ClientOptions> & Pick<RequestOptions, 'lookup'>;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

export interface TargetPolicyOptions {
  /** ALLOW_TARGETS: IPs, CIDRs, `host`, `host:port`, `ip:port` or `[v6]:port` the operator opens on purpose */
  allow: readonly string[];
  /** ALLOW_PORTS: bad ports reopened on purpose */
  allowPorts?: readonly string[];
  /** whole targets allowed exactly (scheme, host, port and path): the all-in-one's demo echo */
  exact?: readonly string[];
}

export class TargetPolicy {
  private readonly allowed = new BlockList();
  /** host names allowed on any port */
  private readonly allowedNames = new Set<string>();
  /** `host:port` (IPs in canonical form, v6 bracketed) allowed on that port only */
  private readonly allowedEndpoints = new Set<string>();
  private readonly allowedPorts: Set<number>;
  private readonly exact: Set<string>;

  constructor(o: TargetPolicyOptions) {
    for (const entry of o.allow) this.addEntry(entry.trim());
    this.allowedPorts = new Set((o.allowPorts ?? []).map(Number));
    this.exact = new Set((o.exact ?? []).map((t) => exactKey(new URL(t))));
  }

  private addEntry(entry: string): void {
    const a = parseTargetAllowance(entry);
    if (!a) {
      throw new PolysocketError(
        'bad_parameter',
        `ALLOW_TARGETS: ${JSON.stringify(entry)} is not an IP, a CIDR, or a host with an optional :port`,
      );
    }
    if (a.kind === 'endpoint') this.allowedEndpoints.add(endpoint(a.host, a.port));
    else if (a.kind === 'range') addRange(this.allowed, a.range);
    else this.allowedNames.add(a.name);
  }

  /** True when connecting to `ip` (on `port`, if given) is allowed. */
  addressAllowed(ip: string, port?: string): boolean {
    const family = familyOf(ip);
    if (!family) return false;
    if (port !== undefined && this.allowedEndpoints.has(endpoint(ip, port))) return true;
    return this.allowed.check(ip, family) || !forbidden.check(ip, family);
  }

  /**
   * Options for the ws client: refuses bad ports and forbidden literals now, and forbidden
   * resolutions at connect time. An allowed name or endpoint skips the address check.
   */
  socketOptions(target: URL): UpstreamSocketOptions {
    const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = portOf(target);
    if (BAD_PORTS.has(Number(port)) && !this.allowedPorts.has(Number(port))) {
      throw new PolysocketError('target_forbidden_port', `browsers never connect to port ${port}, and neither does the relay`);
    }
    if (this.exact.has(exactKey(target)) || this.allowedNames.has(host) || this.allowedEndpoints.has(endpoint(host, port))) return {};
    if (familyOf(host)) {
      if (!this.addressAllowed(host, port)) throw forbiddenError(host);
      return {};
    }
    return { lookup: this.lookupFor(port) as unknown as RequestOptions['lookup'] };
  }

  private lookupFor(port: string) {
    return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, []);
        const list = addresses as dns.LookupAddress[];
        const bad = list.find((a) => !this.addressAllowed(a.address, port));
        if (bad) return callback(forbiddenError(hostname) as unknown as NodeJS.ErrnoException, []);
        if (list.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
        if (options.all) callback(null, list);
        else callback(null, list[0].address, list[0].family);
      });
    };
  }
}

function endpoint(host: string, port: string): string {
  return `${host}|${Number(port)}`;
}

/** scheme, host, port and path: what an exact allowance must match (the query is the upstream's business). */
function exactKey(u: URL): string {
  return `${u.protocol}//${u.hostname.toLowerCase()}:${portOf(u)}${u.pathname}`;
}

function forbiddenError(host: string): PolysocketError {
  return new PolysocketError('target_forbidden_address', `the relay does not connect to internal addresses (${host.slice(0, 100)})`);
}
