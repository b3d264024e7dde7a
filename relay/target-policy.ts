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
import net, { BlockList } from 'node:net';
import type { RequestOptions } from 'node:http';
import type { ClientOptions } from 'ws';
import { PolysocketError } from '../shared/errors';

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

function familyOf(ip: string): 'ipv4' | 'ipv6' | undefined {
  const v = net.isIP(ip);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** ws passes these through to http.request, lookup included. */
export type UpstreamSocketOptions = Partial<ClientOptions> & Pick<RequestOptions, 'lookup'>;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

export class TargetPolicy {
  private readonly allowed = new BlockList();
  private readonly allowedNames = new Set<string>();

  /** `allow`: IPs, CIDRs (a.b.c.d/n, x::/n) or host names the operator opens on purpose. */
  constructor(allow: readonly string[]) {
    for (const entry of allow) {
      const [addr, bits] = entry.split('/');
      const family = familyOf(addr);
      if (family && bits === undefined) this.allowed.addAddress(addr, family);
      else if (family && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 'ipv4' ? 32 : 128))
        this.allowed.addSubnet(addr, Number(bits), family);
      else if (bits === undefined && /^[a-z0-9.-]+$/i.test(entry)) this.allowedNames.add(entry.toLowerCase());
      else throw new PolysocketError('bad_parameter', `ALLOW_TARGETS: ${JSON.stringify(entry)} is not an IP, a CIDR or a host name`);
    }
  }

  /** True when connecting to `ip` is allowed. */
  addressAllowed(ip: string): boolean {
    const family = familyOf(ip);
    if (!family) return false;
    return this.allowed.check(ip, family) || !forbidden.check(ip, family);
  }

  /** Options for the ws client: refuses forbidden literals now, and forbidden resolutions at connect time. */
  socketOptions(target: URL): UpstreamSocketOptions {
    const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (this.allowedNames.has(host)) return {};
    if (familyOf(host)) {
      if (!this.addressAllowed(host)) throw forbiddenError(host);
      return {};
    }
    return { lookup: this.lookup as unknown as RequestOptions['lookup'] };
  }

  private readonly lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as dns.LookupAddress[];
      const bad = list.find((a) => !this.addressAllowed(a.address));
      if (bad) return callback(forbiddenError(hostname) as unknown as NodeJS.ErrnoException, []);
      if (list.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      if (options.all) callback(null, list);
      else callback(null, list[0].address, list[0].family);
    });
  };
}

function forbiddenError(host: string): PolysocketError {
  return new PolysocketError('target_forbidden_address', `the relay does not connect to internal addresses (${host.slice(0, 100)})`);
}
