/**
 * The /create flow, HTTP-free: check the request and its token, count it against the limits,
 * place it on the least-loaded live relay and wait for that relay to open the upstream.
 */
import type { Config } from '../shared/config';
import { asPolysocketError, PolysocketError } from '../shared/errors';
import { newSocketId, newUniqLabel } from '../shared/ids';
import type { ClientFacts } from '../shared/client-address';
import { loggable, type Logger, socketRef } from '../shared/log';
import type { Metrics } from '../shared/metrics';
import type { CoordinationStore, OpenRequest } from '../shared/store/store';
import { parseFrom, parseProtocols, parseTarget } from './create-params';
import { originAllowed } from './origin-rules';
import { targetAllowed } from './target-rules';
import type { Grant, Verifier } from './token';

export interface CreateInput {
  target?: string;
  protocols?: string;
  from?: string;
  token?: string;
  /** page origin from Origin or Referer, if any */
  origin?: string;
  /** client address, for the per-IP rate limit */
  ip: string;
  /** the request's Host header */
  host?: string;
  /** address, scheme and host as forwarded upstream (see shared/client-address.ts) */
  client?: ClientFacts;
  userAgent?: string;
  /** the request's Cookie header: only the cookies the token names go further */
  cookie?: string;
}

export interface Created {
  ok: true;
  socket: string;
  fqdn: string;
  url: string;
  protocol: string;
  /** the relay run holding the socket, for GET /alive (router/run-liveness.ts) */
  run: string;
}

/** Relays tried for one create before giving up (each refusal is a draining or vanished relay). */
const PLACEMENT_ATTEMPTS = 3;
const RATE_WINDOW_MS = 60_000;

export type CreatorConfig = Pick<Config, 'maxPendingCreates' | 'createsPerMinutePerIp' | 'createsPerMinutePerToken' | 'createTimeoutMs'>;

export interface CreatorDeps {
  store: CoordinationStore;
  log: Logger;
  /** undefined when AUTH=none */
  verifier: Verifier | undefined;
  metrics?: Metrics;
}

export class SocketCreator {
  private pending = 0;
  /** since start, for the status page (published with the router's heartbeat) */
  readonly counts = { creates: 0, refused: {} as Record<string, number> };
  private readonly store: CoordinationStore;
  private readonly log: Logger;
  private readonly verifier: Verifier | undefined;
  private readonly metrics: Metrics | undefined;

  constructor(
    private readonly config: CreatorConfig,
    deps: CreatorDeps,
  ) {
    this.store = deps.store;
    this.log = deps.log;
    this.verifier = deps.verifier;
    this.metrics = deps.metrics;
  }

  get pendingCreates(): number {
    return this.pending;
  }

  async create(input: CreateInput): Promise<Created> {
    if (this.pending >= this.config.maxPendingCreates) {
      this.counts.refused.too_many_pending = (this.counts.refused.too_many_pending ?? 0) + 1;
      throw new PolysocketError('too_many_pending');
    }
    this.pending++;
    try {
      const created = await this.place(input);
      this.counts.creates++;
      this.metrics?.creates.inc({ outcome: 'ok' });
      return created;
    } catch (err) {
      const e = asPolysocketError(err);
      this.counts.refused[e.code] = (this.counts.refused[e.code] ?? 0) + 1;
      this.metrics?.creates.inc({ outcome: e.code });
      this.log.info('create_refused', { error: e.code, ip: input.ip, from: loggable(input.from) });
      throw e;
    } finally {
      this.pending--;
    }
  }

  /**
   * One round trip to the store for a create that is placed (docs/PROTOCOL.md §2): the admission
   * (rate counters, single use, placement, the token's slot: shared/store/lua/admit.lua) carries
   * the open request to the chosen relay, whose answer comes back on the router's reply channel.
   * A refused request costs the same one: its address is still counted.
   */
  private async place(input: CreateInput): Promise<Created> {
    let target: URL;
    let protocols: string[];
    let from: string;
    let grant: Grant | undefined;
    try {
      target = parseTarget(input.target);
      protocols = parseProtocols(input.protocols);
      from = parseFrom(input.from);
      grant = this.verifier ? this.authorize(this.verifier, input, target) : undefined;
    } catch (err) {
      // Every attempt counts, refused or not: guessing tokens, origins or targets is not free, and
      // past the limit the answer is rate_limited whether the guess was right or not.
      if ((await this.store.countHit(`ip:${input.ip}`, RATE_WINDOW_MS)) > this.config.createsPerMinutePerIp) {
        throw new PolysocketError('rate_limited');
      }
      throw err;
    }

    const req: OpenRequest = {
      socketId: newSocketId(),
      uniq: newUniqLabel(),
      target: target.href,
      protocols,
      origin: input.origin ?? '',
      from,
      slotKey: grant?.maxSockets ? grant.key : undefined,
      host: input.host,
      upstreamHeaders: upstreamHeaders(input, grant),
    };
    const slot = grant?.maxSockets ? { key: grant.key, socketId: req.socketId, max: grant.maxSockets, ttlMs: grant.ttlMs } : undefined;
    const counters = [{ key: `ip:${input.ip}`, limit: this.config.createsPerMinutePerIp }];
    if (grant) counters.push({ key: `tok:${grant.key}`, limit: this.config.createsPerMinutePerToken });
    const once = grant?.once ? { key: `jti:${grant.once.jti}`, ttlMs: grant.once.ttlMs } : undefined;
    const open = { req, timeoutMs: this.config.createTimeoutMs };
    let admitted = await this.store.admit({ counters, windowMs: RATE_WINDOW_MS, once, slot, dice: Math.random(), open });
    const refused: string[] = [];
    for (let attempt = 0; attempt < PLACEMENT_ATTEMPTS; attempt++) {
      if (!admitted.ok) {
        if (admitted.error === 'socket_limit') {
          throw new PolysocketError('socket_limit', `this token may hold at most ${grant?.maxSockets} sockets at once`);
        }
        throw new PolysocketError(admitted.error);
      }
      const relay = admitted.relay;
      const result = admitted.opened;
      if (!result) throw new PolysocketError('internal', 'the store admitted a create without asking its relay');
      if (result.ok) {
        this.log.info('create_ok', { socket: socketRef(req.socketId), relay: relay.id, target: target.host, from });
        return { ok: true, socket: req.socketId, fqdn: result.fqdn, url: result.url, protocol: result.protocol, run: result.run };
      }
      if (req.slotKey) await this.store.releaseSlot(req.slotKey, req.socketId);
      if (result.error !== 'relay_unavailable') throw new PolysocketError(result.error, result.message);
      this.log.warn('relay_refused_create', { relay: relay.id, message: result.message });
      // a draining or vanished relay: place again elsewhere (the counters and `once` are done)
      refused.push(relay.id);
      admitted = await this.store.admit({ counters: [], windowMs: RATE_WINDOW_MS, slot, exclude: refused, dice: Math.random(), open });
    }
    throw new PolysocketError('no_relay', 'no relay could take the socket');
  }

  private authorize(verifier: Verifier, input: CreateInput, target: URL): Grant {
    const grant = verifier.verify(input.token);
    if (input.origin === undefined) {
      if (!grant.allowNoOrigin)
        throw new PolysocketError('origin_not_allowed', 'the request carries no Origin or Referer and the token requires one');
    } else if (!originAllowed(grant.origins, input.origin)) {
      throw new PolysocketError('origin_not_allowed');
    }
    if (!targetAllowed(grant.targets, target)) throw new PolysocketError('target_not_allowed');
    return grant;
  }
}

/** What a reverse proxy tells the server behind it, plus what the token lets through. */
function upstreamHeaders(input: CreateInput, grant: Grant | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (input.client) {
    headers['X-Forwarded-For'] = input.client.forwardedFor;
    headers['X-Forwarded-Proto'] = input.client.proto;
    if (input.client.host) headers['X-Forwarded-Host'] = input.client.host;
  }
  if (input.userAgent && /^[\x20-\x7e]{1,512}$/.test(input.userAgent)) headers['User-Agent'] = input.userAgent;
  const cookie = namedCookies(input.cookie, grant?.cookies ?? []);
  if (cookie) headers.Cookie = cookie;
  return { ...headers, ...grant?.upstreamHeaders };
}

/** Only the cookies the token names, as `a=1; b=2` (none by default). */
function namedCookies(header: string | undefined, names: readonly string[]): string {
  if (!header || names.length === 0) return '';
  return header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => names.includes(c.slice(0, c.indexOf('='))))
    .join('; ');
}
