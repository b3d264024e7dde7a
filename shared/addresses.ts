/**
 * IP addresses and CIDRs as settings spell them (TRUST_PROXY, ALLOW_TARGETS): one parser, so that
 * the config check at start and the BlockList built from it later can never disagree.
 */
import net, { type BlockList } from 'node:net';

export type Family = 'ipv4' | 'ipv6';

export function familyOf(ip: string): Family | undefined {
  const v = net.isIP(ip);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** One address (`bits` undefined) or a subnet. */
export interface AddressRange {
  address: string;
  bits?: number;
  family: Family;
}

/** `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`; undefined for anything else, a prefix past the family's width included. */
export function parseAddressRange(entry: string): AddressRange | undefined {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = familyOf(address);
  if (!family) return undefined;
  if (slash < 0) return { address, family };
  const bits = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 'ipv4' ? 32 : 128)) return undefined;
  return { address, bits: Number(bits), family };
}

export function addRange(list: BlockList, r: AddressRange): void {
  if (r.bits === undefined) list.addAddress(r.address, r.family);
  else list.addSubnet(r.address, r.bits, r.family);
}

/** What an ALLOW_TARGETS entry opens: an address range, a host name on any port, or one `host:port`. */
export type TargetAllowance =
  | { kind: 'range'; range: AddressRange }
  | { kind: 'name'; name: string }
  | { kind: 'endpoint'; host: string; port: string };

const HOST_NAME = /^[a-z0-9.-]+$/i;

/** `ip`, `cidr`, `host`, `host:port`, `ip:port` or `[v6]:port`; undefined when it is none of these. */
export function parseTargetAllowance(entry: string): TargetAllowance | undefined {
  const withPort = /^(\[[0-9a-f:.]+\]|[^:/[\]]+):(\d{1,5})$/i.exec(entry);
  if (withPort) {
    const host = withPort[1].replace(/^\[|\]$/g, '').toLowerCase();
    if (!familyOf(host) && !HOST_NAME.test(host)) return undefined;
    return { kind: 'endpoint', host, port: withPort[2] };
  }
  const range = parseAddressRange(entry);
  if (range) return { kind: 'range', range };
  if (HOST_NAME.test(entry)) return { kind: 'name', name: entry.toLowerCase() };
  return undefined;
}
