/**
 * A relay: holds sessions, opens upstreams when a router asks (through the store), and keeps
 * its registration alive with a heartbeat. Nothing here runs per message.
 */
import net from 'node:net';
import type WebSocket from 'ws';
import type { Config } from '../shared/config';
import { asPolysocketError, PolysocketError } from '../shared/errors';
import { newRequestId, SOCKET_ID } from '../shared/ids';
import { HOST_AND_PORT } from '../shared/urls';
import { errorFields, type Logger, socketRef } from '../shared/log';
import { readCounters } from '../shared/relay-counters';
import { newTrafficStats, type Metrics, type RelaySnapshot } from '../shared/metrics';
import type { CoordinationStore, OpenRequest, OpenResult, RelayInfo } from '../shared/store/store';
import type { PollParams } from './requests';
import { Session, type PollWaiter, type SessionHooks, type SessionLimits, type StreamReceiver } from './session';
import type { TargetPolicy } from './target-policy';
import { connectUpstream } from './upstream';

export type RelayConfig = Pick<
  Config,
  | 'relayId'
  | 'publicHost'
  | 'publicScheme'
  | 'subdomains'
  | 'maxSockets'
  | 'heartbeatMs'
  | 'relayTtlMs'
  | 'drainTimeoutMs'
  | 'port'
  | 'maxBufferedBytes'
  | 'maxMessageBytes'
  | 'maxChunks'
  | 'pollMaxTtlMs'
  | 'idleTimeoutMs'
  | 'upstreamStallMs'
  | 'upstreamCloseTimeoutMs'
  | 'upstreamConnectTimeoutMs'
  | 'network'
  | 'explicitPublicHost'
>;

function isIpHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return net.isIP(name) !== 0;
}

export interface RelayDeps {
  store: CoordinationStore;
  log: Logger;
  /** Which addresses upstreams may be opened to. */
  policy: TargetPolicy;
  metrics?: Metrics;
}

/** A stream opened: its session, and what the session writes to. */
export interface StreamOpened {
  session: Session;
  receiver: StreamReceiver;
}

export class Relay {
  readonly id: string;
  /** this run of the relay (token slots name it, so a restart under the same id frees the old run's) */
  readonly run = newRequestId();
  draining = false;
  private readonly sessions = new Map<string, Session>();
  /** sessions whose upstream is still open */
  private live = 0;
  /** upstream handshakes in progress: load too, or a storm's slow relay would look emptiest */
  private opening = 0;
  /** open requests taken since the store last took an announcement (see announceRelay) */
  private opensUnannounced = 0;
  private readonly limits: SessionLimits;
  private readonly hooks: SessionHooks;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopServing: (() => Promise<void>) | undefined;
  private announceQueued = false;
  private emptied: (() => void) | undefined;
  private announceFailing = false;
  /** since start, for the status page (published with the heartbeat) */
  /** when the store last took our announcement (0: never) */
  private announcedAt = 0;
  readonly stats = newTrafficStats();

  private readonly deps: RelayDeps & { config: RelayConfig };

  constructor(config: RelayConfig, deps: RelayDeps) {
    this.deps = { ...deps, config };
    const c = config;
    this.id = c.relayId;
    this.limits = {
      maxBufferedBytes: c.maxBufferedBytes,
      maxMessageBytes: c.maxMessageBytes,
      maxChunks: c.maxChunks,
      pollMaxTtlMs: c.pollMaxTtlMs,
      idleTimeoutMs: c.idleTimeoutMs,
      upstreamStallMs: c.upstreamStallMs,
      upstreamCloseTimeoutMs: c.upstreamCloseTimeoutMs,
      // a quarter, where a paused upstream resumes: the stream's end brings the ack that frees it (§3.4)
      streamMaxBytes: c.maxBufferedBytes / 4,
    };
    this.hooks = {
      onUpstreamClosed: (s, code, reason) => this.onUpstreamClosed(s, code, reason),
      onRemoved: (s) => this.onRemoved(s),
      stats: this.stats,
    };
  }

  get socketCount(): number {
    return this.live;
  }

  info(): RelayInfo {
    return {
      id: this.id,
      run: this.run,
      host: this.deps.config.publicHost,
      sockets: this.live + this.opening,
      maxSockets: this.deps.config.maxSockets,
      draining: this.draining,
      heartbeatAt: Date.now(),
      counters: readCounters(this.stats),
    };
  }

  async start(): Promise<void> {
    await this.deps.store.announceRelay(this.info(), this.deps.config.relayTtlMs);
    this.announcedAt = Date.now();
    this.stopServing = await this.deps.store.serveOpens(
      this.id,
      (req) => this.open(req),
      (req) => this.unanswered(req),
    );
    this.heartbeat = setInterval(() => void this.announce(), this.deps.config.heartbeatMs);
    this.deps.log.info('relay_started', { relay: this.id, host: this.deps.config.publicHost, port: this.deps.config.port });
  }

  /** Registered (its announcement is fresh in the store) and taking sockets. */
  get ready(): boolean {
    return !this.draining && this.heartbeat !== undefined && Date.now() - this.announcedAt < this.deps.config.relayTtlMs;
  }

  /** For /metrics, read at scrape time (walks the sessions: never on the message path). */
  snapshot(): RelaySnapshot {
    let pollsWaiting = 0;
    let streamsOpen = 0;
    let bufferedBytes = 0;
    for (const s of this.sessions.values()) {
      if (s.polling) pollsWaiting++;
      if (s.streaming) streamsOpen++;
      bufferedBytes += s.outbox.bufferedBytes;
    }
    return { socketsOpen: this.live, sessions: this.sessions.size, pollsWaiting, streamsOpen, bufferedBytes, stats: this.stats };
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** §3: a long-poll on socket `id`, from a page of `origin` (if the request told one). */
  poll(id: string, origin: string | undefined, p: PollParams, waiter: PollWaiter): Session {
    const session = this.sessionFor(id, origin);
    session.poll(p.ack, p.ttlMs, waiter);
    return session;
  }

  /** §3.4: a streamed receive on socket `id`; `start` begins its answer once the request proved good. */
  stream(id: string, origin: string | undefined, p: PollParams, start: () => StreamReceiver): StreamOpened {
    const session = this.sessionFor(id, origin);
    return { session, receiver: session.openStream(p.ack, p.ttlMs, start) };
  }

  /** §6.2: unknown and closed sockets answer alike; a socket of another page origin is refused as such. */
  sessionFor(id: string, origin: string | undefined): Session {
    const session = SOCKET_ID.test(id) ? this.sessions.get(id) : undefined;
    if (!session) throw new PolysocketError('unknown_socket');
    if (session.info.origin && origin && origin !== session.info.origin) {
      throw new PolysocketError('origin_not_allowed', 'this socket belongs to another origin');
    }
    return session;
  }

  async open(req: OpenRequest): Promise<OpenResult> {
    const c = this.deps.config;
    this.opensUnannounced++;
    if (this.draining || this.live + this.opening >= c.maxSockets) {
      return { ok: false, error: 'relay_unavailable', message: this.draining ? 'relay is draining' : 'relay is full' };
    }
    let target: URL;
    try {
      target = new URL(req.target);
    } catch {
      return { ok: false, error: 'bad_target', message: 'target is not a URL' };
    }
    const started = Date.now();
    let ws: WebSocket;
    this.opening++;
    try {
      ws = await connectUpstream({
        target: req.target,
        protocols: req.protocols,
        origin: req.origin,
        headers: req.upstreamHeaders,
        timeoutMs: c.upstreamConnectTimeoutMs,
        maxPayload: c.maxMessageBytes,
        socketOptions: this.deps.policy.socketOptions(target),
      });
    } catch (err) {
      const e = asPolysocketError(err);
      this.deps.metrics?.upstreamConnect.observe({ outcome: e.code }, (Date.now() - started) / 1000);
      // The details (resolved address, DNS and TLS errors) are for the log: handed to the page they
      // would make a port and DNS oracle of any token that names a wildcard.
      this.deps.log.info('socket_refused', {
        relay: this.id,
        target: target.host,
        error: e.code,
        detail: e.message,
        ms: Date.now() - started,
      });
      return { ok: false, error: e.code, message: new PolysocketError(e.code).message };
    } finally {
      this.opening--;
    }
    if (this.draining) {
      ws.close(1001, 'relay shutting down');
      return { ok: false, error: 'relay_unavailable', message: 'relay is draining' };
    }
    const session = new Session(
      { id: req.socketId, uniq: req.uniq, target: req.target, origin: req.origin, from: req.from, slotKey: req.slotKey },
      ws,
      this.limits,
      this.hooks,
    );
    this.sessions.set(req.socketId, session);
    this.live++;
    this.stats.socketsOpened++;
    session.start();
    this.deps.metrics?.upstreamConnect.observe({ outcome: 'ok' }, (Date.now() - started) / 1000);
    this.deps.log.info('socket_opened', {
      relay: this.id,
      socket: socketRef(req.socketId),
      target: target.host,
      from: req.from,
      ms: Date.now() - started,
    });
    // No announce here (it cost ~0.4 ms of relay CPU per create): the admission that sent this
    // open counted it already, until our next heartbeat reports it (see announce()).
    const host = c.network && !c.explicitPublicHost && req.host && HOST_AND_PORT.test(req.host) ? req.host : c.publicHost;
    // An IP address has no subdomains; neither does a name without wildcard DNS (SUBDOMAINS=false).
    const fqdn = c.subdomains && !isIpHost(host) ? `${req.uniq}.${host}` : host;
    return { ok: true, fqdn, url: `${c.publicScheme}://${fqdn}`, protocol: ws.protocol, run: this.run };
  }

  /** The router never learned of this socket (it gave up, or the store went away): nobody will use it. */
  private unanswered(req: OpenRequest): void {
    const session = this.sessions.get(req.socketId);
    if (!session) return;
    this.deps.log.info('socket_unanswered', { relay: this.id, socket: socketRef(req.socketId) });
    session.abandon();
  }

  /** SIGTERM: take no more sockets, tell every client `close` 1001, give them time to fetch it. */
  async drain(): Promise<void> {
    this.draining = true;
    await this.announce();
    for (const s of this.sessions.values()) s.closeBoth(1001, 'relay shutting down');
    if (this.sessions.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.deps.config.drainTimeoutMs);
        this.emptied = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    await this.stop();
  }

  /** Drops everything at once and leaves the store. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const s of [...this.sessions.values()]) s.destroy();
    await this.stopServing?.();
    this.stopServing = undefined;
    await this.deps.store.withdrawRelay(this.id).catch((err) => this.deps.log.warn('relay_withdraw_failed', errorFields(err)));
    this.deps.log.info('relay_stopped', { relay: this.id });
  }

  private async announce(): Promise<void> {
    // The opens taken so far are in info().sockets now: the store stops counting them on its side.
    // Taken off here, not after the await: a heartbeat and a close may announce at once, and each
    // open must be reported by one of them only.
    const opens = this.opensUnannounced;
    this.opensUnannounced = 0;
    try {
      await this.deps.store.announceRelay(this.info(), this.deps.config.relayTtlMs, opens);
      if (!this.announcedAt || Date.now() - this.announcedAt >= this.deps.config.relayTtlMs) {
        this.deps.log.info('relay_registered', { relay: this.id });
      }
      this.announcedAt = Date.now();
      this.announceFailing = false;
    } catch (err) {
      this.opensUnannounced += opens; // not reported: the next announce carries them
      // Once per outage: the store logs when it is back, and relay_registered follows.
      if (!this.announceFailing) this.deps.log.warn('relay_announce_failed', { relay: this.id, ...errorFields(err) });
      this.announceFailing = true;
    }
  }

  private onUpstreamClosed(s: Session, code: number, reason: string): void {
    this.live--;
    this.stats.socketsClosed++;
    this.deps.log.info('socket_closed', { relay: this.id, socket: socketRef(s.id), code, reason });
    const slotKey = s.info.slotKey;
    if (slotKey) {
      this.deps.store
        .releaseSlot(slotKey, s.id)
        .catch((err) => this.deps.log.warn('slot_release_failed', { socket: socketRef(s.id), ...errorFields(err) }));
    }
    // Closes come in waves (drain, a dead upstream); one announce per turn is plenty.
    if (!this.announceQueued) {
      this.announceQueued = true;
      setImmediate(() => {
        this.announceQueued = false;
        if (this.heartbeat) void this.announce();
      });
    }
  }

  private onRemoved(s: Session): void {
    this.sessions.delete(s.id);
    if (this.sessions.size === 0) this.emptied?.();
  }
}
