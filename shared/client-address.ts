/**
 * Who the client is, as a reverse proxy would pass it on: the address (for rate limits and logs,
 * and X-Forwarded-For upstream), the scheme and the host it asked at. Forwarding headers are
 * believed only from TRUST_PROXY addresses (none by default): anyone else could write them.
 */
import type { IncomingMessage } from 'node:http';
import net, { BlockList } from 'node:net';
import { addRange, familyOf, parseAddressRange } from './addresses';
import { PolysocketError } from './errors';

export interface ClientFacts {
  /** the client's address: the peer, or the last untrusted hop of a trusted proxy's X-Forwarded-For */
  ip: string;
  /** X-Forwarded-For to send on: a trusted chain with the peer appended, or just the peer */
  forwardedFor: string;
  proto: 'http' | 'https';
  host: string;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly any: boolean;

  /** TRUST_PROXY: IPs and CIDRs of the proxies in front of this process. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const range = parseAddressRange(entry);
      if (!range) throw new PolysocketError('bad_parameter', `TRUST_PROXY: ${JSON.stringify(entry)} is not an IP or a CIDR`);
      addRange(this.list, range);
    }
    this.any = entries.length > 0;
  }

  trusts(ip: string): boolean {
    const plain = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
    const f = familyOf(plain);
    return this.any && f !== undefined && this.list.check(plain, f);
  }

  facts(req: IncomingMessage): ClientFacts {
    const peer = req.socket.remoteAddress ?? '';
    const own = {
      proto: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      host: String(req.headers.host ?? ''),
    } as const;
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v.trim() : undefined;
    };
    if (!this.trusts(peer)) return { ip: peer, forwardedFor: peer, ...own };
    const chain = (header('x-forwarded-for') ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => net.isIP(x) !== 0);
    // right to left: the first hop we do not trust is the client
    let ip = peer;
    for (let i = chain.length - 1; i >= 0; i--) {
      ip = chain[i];
      if (!this.trusts(ip)) break;
    }
    const proto = header('x-forwarded-proto');
    return {
      ip,
      forwardedFor: [...chain, peer].join(', '),
      proto: proto === 'https' || proto === 'http' ? proto : own.proto,
      host: header('x-forwarded-host') ?? own.host,
    };
  }
}
