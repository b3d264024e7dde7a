/**
 * The coordination store: the only thing routers and relays share. Placement, liveness and
 * limits live here; the per-message path never touches it. Two implementations pass the same
 * contract suite (test/store.contract.test.ts): MemoryStore for the single-process all-in-one,
 * RedisStore for any number of routers and relays.
 */
import type { ErrorCode } from '../errors';

export interface RelayInfo {
  id: string;
  /** host[:port] clients reach the relay at; socket hosts are `<uniq>.<host>` */
  host: string;
  sockets: number;
  maxSockets: number;
  draining: boolean;
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
}

export type OpenResult =
  | { ok: true; fqdn: string; url: string; protocol: string }
  | { ok: false; error: ErrorCode; message: string };

export type OpenHandler = (req: OpenRequest) => Promise<OpenResult>;

export interface CoordinationStore {
  /** Registers or refreshes a relay; it counts as dead `ttlMs` after the last call. */
  announceRelay(info: RelayInfo, ttlMs: number): Promise<void>;
  withdrawRelay(id: string): Promise<void>;
  liveRelays(): Promise<RelayInfo[]>;

  /** Relay side: takes open requests addressed to `relayId` until the returned stop is called. */
  serveOpens(relayId: string, handler: OpenHandler): Promise<() => Promise<void>>;
  /**
   * Router side: asks `relayId` to open. Resolves with the relay's answer, `relay_unavailable` when
   * nobody serves that relay, or `create_timeout` after `timeoutMs`. Rejects with
   * `store_unavailable` when the store cannot be reached.
   */
  requestOpen(relayId: string, req: OpenRequest, timeoutMs: number): Promise<OpenResult>;

  /**
   * Takes one of `max` slots under `key` for `socketId` held by `relayId`. Slots held on relays
   * whose registration expired are reclaimed first, so a crashed relay never leaks quota.
   * `ttlMs` (when > 0) bounds how long the slot bookkeeping outlives its last use.
   */
  acquireSlot(key: string, socketId: string, relayId: string, max: number, ttlMs: number): Promise<boolean>;
  releaseSlot(key: string, socketId: string): Promise<void>;
  /** Hits in the current fixed window of `windowMs`, this one included. */
  countHit(key: string, windowMs: number): Promise<number>;
  /** True the first time `key` is claimed within `ttlMs`, false afterwards. */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;

  /** Resolves when the store answers; rejects with store_unavailable otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
