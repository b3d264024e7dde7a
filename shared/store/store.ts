/**
 * The coordination store: the only thing routers and relays share. Placement, liveness and
 * limits live here; the per-message path never touches it. Two implementations pass the same
 * contract suite (test/store/store.contract.test.ts): MemoryStore for the single-process all-in-one,
 * RedisStore for any number of routers and relays.
 */
import type { RelayCounters } from '../relay-counters';
import type { ErrorCode } from '../errors';

export type { RelayCounters };

export interface RelayInfo {
  id: string;
  /** random per process start: slots held by an earlier run under the same id are not this run's */
  run: string;
  /** host[:port] clients reach the relay at; socket hosts are `<uniq>.<host>` */
  host: string;
  /** sockets held, upstream handshakes in progress included */
  sockets: number;
  maxSockets: number;
  draining: boolean;
  /** when the relay wrote this (its clock, ms since the epoch) */
  heartbeatAt?: number;
  /** cumulative counters since the relay started, published with the heartbeat (for the status page) */
  counters?: RelayCounters;
}

/** A router's heartbeat: cumulative create outcomes, for the status page. No tokens, ids or addresses. */
export interface RouterInfo {
  id: string;
  heartbeatAt: number;
  creates: number;
  /** refusals so far, by error code */
  refused: Record<string, number>;
  pendingCreates: number;
}

/**
 * Who holds a token slot: the relay's id and run. A relay killed and restarted under the same id
 * is a new instance, so the slots of its previous run are reclaimed once that run's liveness
 * lapses (RELAY_TTL_MS), whether or not the id comes back.
 */
export function relayInstance(r: Pick<RelayInfo, 'id' | 'run'>): string {
  return `${r.id}/${r.run}`;
}

/** What a router asks a relay to do: open `target` and hold it as `socketId`. */
export interface OpenRequest {
  socketId: string;
  uniq: string;
  target: string;
  protocols: string[];
  /** page origin the socket is bound to ('' when the token allows none) */
  origin: string;
  from: string;
  /** token slot to give back when the socket closes, if the token limits sockets */
  slotKey?: string;
  /** the Host the client asked /create at: the socket's URL is built from it when the relay has no PUBLIC_HOST of its own (NETWORK) */
  host?: string;
  /**
   * Headers for the upstream handshake, as a reverse proxy sends them: X-Forwarded-For/-Proto/-Host,
   * the page's User-Agent, the Cookie values the token names, the token's upstream_headers. Carried
   * in the open request only (never stored, never logged).
   */
  upstreamHeaders?: Record<string, string>;
}

/** `run`: the relay's run, which a page can later ask a router about (runAlive, GET /alive). */
export type OpenResult =
  | { ok: true; fqdn: string; url: string; protocol: string; run: string }
  | { ok: false; error: ErrorCode; message: string };

export type OpenHandler = (req: OpenRequest) => Promise<OpenResult>;
/** The relay's answer could not reach the router, or came after it gave up: the socket is nobody's. */
export type UndeliveredHandler = (req: OpenRequest) => void;

/**
 * Every method rejects with `store_unavailable` when the store cannot be reached (Redis fails
 * fast: no offline queue), so callers answer at once instead of waiting. Every key and channel
 * expires or is pruned: nothing here grows with sockets that ended.
 */
export interface AdmitRequest {
  /** fixed-window counters, each refused past its limit */
  counters: { key: string; limit: number }[];
  windowMs: number;
  once?: { key: string; ttlMs: number };
  slot?: { key: string; socketId: string; max: number; ttlMs: number };
  /** relays that refused this create already */
  exclude?: string[];
  /** a number in [0, 1): which of equally loaded relays */
  dice: number;
  /** the open request for the chosen relay, sent in the same round trip (see admit) */
  open?: { req: OpenRequest; timeoutMs: number };
}

export type AdmitResult =
  | { ok: true; relay: RelayInfo; opened?: OpenResult }
  | { ok: false; error: 'rate_limited' | 'token_reused' | 'no_relay' | 'socket_limit' };

export interface CoordinationStore {
  /**
   * Registers or refreshes a relay, atomically with its membership in the relay list; it counts
   * as dead `ttlMs` after the last call (liveness is the key's expiry, not a message).
   * `opensTaken`: the open requests the relay took since its last announce that the store took,
   * which `info.sockets` now counts; admission stops counting them on its side (see admit).
   */
  announceRelay(info: RelayInfo, ttlMs: number, opensTaken?: number): Promise<void>;
  /** Takes a relay out of placement at once (drain, stop). Its slots are reclaimed lazily. */
  withdrawRelay(id: string): Promise<void>;
  /** The relays whose registration has not expired, as last announced; may be up to one heartbeat stale. */
  liveRelays(): Promise<RelayInfo[]>;
  /**
   * Whether the relay run `run` is still announcing (draining counts as alive: it still
   * holds its sockets). False once its registration expired, and for a run never seen.
   */
  runAlive(run: string): Promise<boolean>;

  /**
   * Relay side: takes open requests addressed to `relayId` until the returned stop is called.
   * Resolves once requests can arrive. Each request is handled once; its answer goes back to the
   * router that asked. An answer that cannot be delivered (the store is down) or that comes after
   * the router's `timeoutMs` is reported to `undelivered`, so the relay can close that upstream.
   */
  serveOpens(relayId: string, handler: OpenHandler, undelivered?: UndeliveredHandler): Promise<() => Promise<void>>;

  /**
   * Admits a create in one round trip, atomically and in this order: bumps the rate counters (any
   * over its limit: `rate_limited`), claims single use (`token_reused`), picks the least-loaded
   * live relay that is neither draining, full nor excluded, ties by `dice` (`no_relay`), and takes
   * the token's slot on that relay's run, reclaiming slots of dead runs first (`socket_limit`).
   * What was done before a refusal stays done (a refused create still counts). An admitted create
   * adds one to its relay's load at once, until that relay announces it took it (`opensTaken`),
   * so a burst of creates between heartbeats spreads evenly; a relay's load is its announced
   * `sockets` plus the opens sent to it that it has not reported yet.
   *
   * With `open`, the chosen relay is asked to open it in that same round trip, and admit resolves
   * once it answered, with its answer as `opened`: `relay_unavailable` at once when nobody serves
   * that relay, `create_timeout` after `open.timeoutMs`. It rejects with `store_unavailable` when
   * the request cannot be sent, or at once when the store's connection drops while the answer is
   * awaited.
   */
  admit(req: AdmitRequest): Promise<AdmitResult>;
  /** Gives a slot back; releasing one that is not held is a no-op. */
  releaseSlot(key: string, socketId: string): Promise<void>;
  /** Atomically counts a hit in the current fixed window of `windowMs`: the hits so far, this one included. */
  countHit(key: string, windowMs: number): Promise<number>;

  /** Registers or refreshes a router's heartbeat and counters; it is gone `ttlMs` after the last call. */
  announceRouter(info: RouterInfo, ttlMs: number): Promise<void>;
  /** The routers whose heartbeat has not expired. */
  liveRouters(): Promise<RouterInfo[]>;

  /** Resolves when the store answers; rejects with store_unavailable otherwise. */
  ping(): Promise<void>;

  /** Ends the connections; requests still waiting resolve with `store_unavailable`. */
  close(): Promise<void>;
}
