/**
 * The coordination store over Redis, for any number of routers and relays.
 *
 * Keys (all under the configured prefix):
 *   relays             SET of relay ids ever announced (dead ones are pruned on read)
 *   relay:<id>         JSON RelayInfo, expiring: its presence is the relay's liveness
 *   alive:<id>/<run>   expiring marker of one run of a relay (slots name it: a restart is a new run)
 *   run:<run>          the same marker by run alone, which pages hold (GET /alive): relay ids stay private
 *   sent:<run>         opens sent to that run it has not reported taking yet (admit.lua adds, announce subtracts)
 *   slots:<key>        HASH socketId -> <relayId>/<run>, the sockets a token holds
 *   routers            SET of router ids ever announced; router:<id> its expiring heartbeat (status page)
 *   rate:<key>:<win>   counter of a fixed rate-limit window
 *   once:<key>         single-use marker
 * Channels:
 *   open:<relayId>     router -> relay open requests
 *   reply:<instance>   relay -> router answers, one channel per store instance
 *
 * Commands fail fast while Redis is down (no offline queue) so /create can answer
 * store_unavailable at once; the connections keep reconnecting in the background.
 *
 * Redis Cluster: the slot script reads relay keys it is not handed, and MULTI/MGET span keys,
 * so every key must sit in one hash slot: the prefix is a hash tag (`{ps:}`). Our keys are a
 * small control plane; the cluster gives failover, not sharding, for them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { PolysocketError } from '../errors';
import { newRequestId } from '../ids';
import { withTimeout } from '../timeout';
import type { Logger } from '../log';
import {
  type AdmitRequest,
  type AdmitResult,
  type CoordinationStore,
  type OpenHandler,
  type OpenRequest,
  type OpenResult,
  type RelayInfo,
  relayInstance,
  type RouterInfo,
  type UndeliveredHandler,
} from './store';

interface OpenEnvelope {
  id: string;
  replyTo: string;
  req: OpenRequest;
  /** how long the router waits: an answer later than this (from receipt) reaches nobody */
  timeoutMs: number;
}

/** Ends the wait of an open request the admission did not send (refused, or the store failed). Nobody reads it. */
const NOT_SENT: OpenResult = { ok: false, error: 'internal', message: 'the open request was not sent' };

interface ReplyEnvelope {
  id: string;
  result: OpenResult;
}

/** The Lua scripts (lua/*.lua, each with its KEYS/ARGV legend), read once when this module loads. */
const LUA_DIR = [path.join(__dirname, 'lua'), path.join(__dirname, '..', '..', '..', 'shared', 'store', 'lua')].find((d) => existsSync(d));
function lua(name: string): string {
  if (!LUA_DIR) throw new PolysocketError('internal', `shared/store/lua is missing next to ${__dirname}`);
  return readFileSync(path.join(LUA_DIR, name), 'utf8');
}
const COUNT_HIT = lua('count-hit.lua');
const ADMIT = lua('admit.lua');

export interface RedisStoreOptions {
  /** `redis://host:port`; with `cluster`, a comma-separated list of seed nodes */
  url: string;
  cluster?: boolean;
  prefix: string;
  log?: Logger;
  /** How long to wait for the first connection before giving up. */
  connectTimeoutMs?: number;
  /** Called for every Redis error (metrics). */
  onError?: (err: Error) => void;
}

type Client = Redis | Cluster;
type Commands = Client & {
  psCountHit(key: string, windowMs: number): Promise<number>;
  psAdmit(...args: (string | number)[]): Promise<[number, string, number?]>;
};

export class RedisStore implements CoordinationStore {
  private readonly cmd: Commands;
  private readonly sub: Client;
  private readonly prefix: string;
  private readonly replyChannel: string;
  private readonly waiting = new Map<string, (r: OpenResult) => void>();
  private readonly handlers = new Map<string, { handler: OpenHandler; undelivered?: UndeliveredHandler }>();
  private replySubscribed: Promise<unknown> | undefined;

  private constructor(
    private readonly opts: RedisStoreOptions,
    cmd: Commands,
    sub: Client,
  ) {
    this.cmd = cmd;
    this.sub = sub;
    this.prefix = opts.cluster ? clusterPrefix(opts.prefix) : opts.prefix;
    this.replyChannel = `${this.prefix}reply:${newRequestId()}`;
    sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    for (const c of [cmd, sub]) {
      c.on('close', () => this.onConnectionLost());
      c.on('ready', () => this.onConnectionBack());
    }
    sub.on('smessage', (channel: string, message: string) => this.onMessage(channel, message));
  }

  /*
   * A cluster broadcasts PUBLISH to every node but counts only the receiving node's subscribers,
   * and "nobody serves this relay" must be known at once; sharded pub/sub (SPUBLISH, sent by the
   * admission script) goes to the one shard that owns the (hash-tagged) channel and counts exactly.
   * Relays answer with publish().
   */
  private publish(channel: string, message: string): Promise<number> {
    return (this.opts.cluster ? this.cmd.spublish(channel, message) : this.cmd.publish(channel, message)) as Promise<number>;
  }

  private subscribe(channel: string): Promise<unknown> {
    return this.opts.cluster ? this.sub.ssubscribe(channel) : this.sub.subscribe(channel);
  }

  private unsubscribe(channel: string): Promise<unknown> {
    return this.opts.cluster ? this.sub.sunsubscribe(channel) : this.sub.unsubscribe(channel);
  }

  /** Connects both connections; rejects with store_unavailable if Redis cannot be reached in time. */
  static async connect(opts: RedisStoreOptions): Promise<RedisStore> {
    // Start-up fails fast (the process says so and exits); once connected, reconnect forever.
    let connected = false;
    const base: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      // how long disconnect() lingers on a socket that never opened; the default (2 s) holds exits up
      disconnectTimeout: 100,
      retryStrategy: (times) => (connected ? Math.min(50 * times, 1000) : null),
    };
    // Commands issued in one event-loop turn leave in one write: in a storm of creates, every
    // admission and open request of a turn shares a syscall instead of taking one each.
    const client = (commandTimeout?: number, enableAutoPipelining = false): Client => {
      if (!opts.cluster) return new Redis(opts.url, { ...base, commandTimeout, enableAutoPipelining });
      const nodes = opts.url.split(',').map((u) => {
        const url = new URL(u.trim());
        return { host: url.hostname, port: Number(url.port || 6379) };
      });
      const { retryStrategy, enableOfflineQueue, lazyConnect, ...redisOptions } = base;
      return new Cluster(nodes, {
        redisOptions: { ...redisOptions, commandTimeout },
        clusterRetryStrategy: retryStrategy,
        enableOfflineQueue,
        lazyConnect,
        enableAutoPipelining,
        shardedSubscribers: true,
      });
    };
    const cmd = client(2000, true) as Commands;
    const sub = client();
    for (const c of [cmd, sub]) {
      // Reconnection is automatic; 'error' must not crash the process. An outage is logged once,
      // when it starts and when it ends (onConnectionLost/onConnectionBack), not per retry.
      c.on('error', (err: Error) => {
        opts.onError?.(err);
        opts.log?.debug('redis_error', { err: err.message });
      });
    }
    cmd.defineCommand('psCountHit', { numberOfKeys: 1, lua: COUNT_HIT });
    cmd.defineCommand('psAdmit', { numberOfKeys: 5, lua: ADMIT });
    const timeout = opts.connectTimeoutMs ?? 5000;
    try {
      await withTimeout(Promise.all([cmd.connect(), sub.connect()]), timeout, () => new Error('timed out'));
      connected = true;
    } catch (err) {
      cmd.disconnect();
      sub.disconnect();
      throw new PolysocketError(
        'store_unavailable',
        `cannot reach Redis at ${safeUrl(opts.url)} within ${timeout} ms: ${(err as Error).message}`,
      );
    }
    return new RedisStore(opts, cmd, sub);
  }

  async announceRelay(info: RelayInfo, ttlMs: number, opensTaken = 0): Promise<void> {
    const tx = this.cmd
      .multi()
      .set(`${this.prefix}relay:${info.id}`, JSON.stringify(info), 'PX', ttlMs)
      .set(`${this.prefix}alive:${relayInstance(info)}`, '1', 'PX', ttlMs)
      .set(`${this.prefix}run:${info.run}`, '1', 'PX', ttlMs)
      .sadd(`${this.prefix}relays`, info.id);
    // the opens it took are in info.sockets now (admit.lua counted them until here)
    if (opensTaken > 0) tx.decrby(`${this.prefix}sent:${info.run}`, opensTaken);
    await this.run(() => tx.exec());
  }

  async withdrawRelay(id: string): Promise<void> {
    await this.run(() => this.cmd.multi().del(`${this.prefix}relay:${id}`).srem(`${this.prefix}relays`, id).exec());
  }

  liveRelays(): Promise<RelayInfo[]> {
    return this.live<RelayInfo>('relays', 'relay:');
  }

  async runAlive(run: string): Promise<boolean> {
    return (await this.run(() => this.cmd.exists(`${this.prefix}run:${run}`))) === 1;
  }

  /** The members of set `setKey` whose `<keyPrefix><id>` has not expired; expired ids are pruned from the set. */
  private async live<T>(setKey: string, keyPrefix: string): Promise<T[]> {
    const ids = await this.run(() => this.cmd.smembers(`${this.prefix}${setKey}`));
    if (ids.length === 0) return [];
    const values = await this.run(() => this.cmd.mget(ids.map((id) => `${this.prefix}${keyPrefix}${id}`)));
    const live: T[] = [];
    const dead: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const v = values[i];
      if (v === null) dead.push(ids[i]);
      else live.push(JSON.parse(v) as T);
    }
    if (dead.length) await this.run(() => this.cmd.srem(`${this.prefix}${setKey}`, ...dead));
    return live;
  }

  async serveOpens(relayId: string, handler: OpenHandler, undelivered?: UndeliveredHandler): Promise<() => Promise<void>> {
    const channel = `${this.prefix}open:${relayId}`;
    this.handlers.set(channel, { handler, undelivered });
    await this.run(() => this.subscribe(channel));
    return async () => {
      this.handlers.delete(channel);
      await this.unsubscribe(channel).catch(() => undefined);
    };
  }

  /**
   * The answer open request `id` will get: the relay's (onMessage), or whatever `answerNow` gives
   * it first (relay_unavailable, store_unavailable, not sent), or create_timeout after `timeoutMs`.
   */
  private expectAnswer(id: string, timeoutMs: number): Promise<OpenResult> {
    return new Promise<OpenResult>((resolve) => {
      const timer = setTimeout(
        () => this.answerNow(id, { ok: false, error: 'create_timeout', message: `the relay did not answer within ${timeoutMs} ms` }),
        timeoutMs,
      );
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(r);
      });
    });
  }

  /** Settles the wait for open request `id`, if it still waits. */
  private answerNow(id: string, r: OpenResult): void {
    this.waiting.get(id)?.(r);
  }

  private async replies(): Promise<void> {
    this.replySubscribed ??= this.subscribe(this.replyChannel);
    try {
      await this.replySubscribed;
    } catch (err) {
      this.replySubscribed = undefined;
      throw storeDown(err);
    }
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    let open: { id: string; message: string; answer: Promise<OpenResult> } | undefined;
    if (req.open) {
      await this.replies();
      const envelope: OpenEnvelope = { id: newRequestId(), replyTo: this.replyChannel, req: req.open.req, timeoutMs: req.open.timeoutMs };
      open = { id: envelope.id, message: JSON.stringify(envelope), answer: this.expectAnswer(envelope.id, req.open.timeoutMs) };
    }
    let reply: [number, string, number?];
    try {
      reply = await this.run(() => this.cmd.psAdmit(...this.admitArgs(req, open?.message)));
    } catch (err) {
      if (open) this.answerNow(open.id, NOT_SENT);
      throw err;
    }
    const [ok, value, received] = reply;
    if (ok !== 1) {
      if (open) this.answerNow(open.id, NOT_SENT);
      return { ok: false, error: value as Exclude<AdmitResult, { ok: true }>['error'] };
    }
    const relay = JSON.parse(value) as RelayInfo;
    if (!open) return { ok: true, relay };
    if (received === 0) this.answerNow(open.id, { ok: false, error: 'relay_unavailable', message: `relay ${relay.id} is not serving` });
    return { ok: true, relay, opened: await open.answer };
  }

  /** admit.lua's KEYS then ARGV, in the order its named locals read them. */
  private admitArgs(req: AdmitRequest, openMessage: string | undefined): (string | number)[] {
    const window = Math.floor(Date.now() / req.windowMs);
    const none = `${this.prefix}none`; // a key in the same slot, never written: for what this create does not use
    const [ip, token] = req.counters;
    const keys = [
      ip ? `${this.prefix}rate:${ip.key}:${window}` : none, // ip_counter
      token ? `${this.prefix}rate:${token.key}:${window}` : none, // token_counter
      req.once ? `${this.prefix}once:${req.once.key}` : none, // once_key
      req.slot ? `${this.prefix}slots:${req.slot.key}` : none, // slots_key
      `${this.prefix}relays`, // relays_key
    ];
    const args = [
      req.windowMs, // window_ms
      ip?.limit ?? 0, // ip_limit
      token?.limit ?? 0, // token_limit
      req.once ? Math.max(1, req.once.ttlMs) : 0, // once_ms
      req.slot?.socketId ?? '', // socket_id
      req.slot?.max ?? 0, // max_slots
      req.slot?.ttlMs ?? 0, // slots_ttl_ms
      `${this.prefix}relay:`, // relay_prefix
      `${this.prefix}alive:`, // alive_prefix
      req.dice, // dice
      (req.exclude ?? []).join(','), // excluded_ids
      // A cluster counts only SPUBLISH's receivers exactly (see publish()).
      openMessage === undefined ? '' : this.opts.cluster ? 'SPUBLISH' : 'PUBLISH', // publish
      `${this.prefix}open:`, // open_prefix
      openMessage ?? '', // open_request
      `${this.prefix}sent:`, // sent_prefix
    ];
    return [...keys, ...args];
  }

  async releaseSlot(key: string, socketId: string): Promise<void> {
    await this.run(() => this.cmd.hdel(`${this.prefix}slots:${key}`, socketId));
  }

  async countHit(key: string, windowMs: number): Promise<number> {
    const window = Math.floor(Date.now() / windowMs);
    return this.run(() => this.cmd.psCountHit(`${this.prefix}rate:${key}:${window}`, windowMs));
  }

  async announceRouter(info: RouterInfo, ttlMs: number): Promise<void> {
    await this.run(() =>
      this.cmd
        .multi()
        .set(`${this.prefix}router:${info.id}`, JSON.stringify(info), 'PX', ttlMs)
        .sadd(`${this.prefix}routers`, info.id)
        .exec(),
    );
  }

  liveRouters(): Promise<RouterInfo[]> {
    return this.live<RouterInfo>('routers', 'router:');
  }

  async ping(): Promise<void> {
    await this.run(() => this.cmd.ping());
  }

  private closing = false;

  async close(): Promise<void> {
    this.closing = true;
    for (const resolve of this.waiting.values()) resolve({ ok: false, error: 'store_unavailable', message: 'store closed' });
    this.waiting.clear();
    await Promise.all([this.cmd, this.sub].map((c) => c.quit().catch(() => c.disconnect())));
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.replyChannel) {
      const reply = parseJson<ReplyEnvelope>(message);
      if (reply) this.answerNow(reply.id, reply.result);
      return;
    }
    const serving = this.handlers.get(channel);
    const envelope = parseJson<OpenEnvelope>(message);
    if (!serving || !envelope) return;
    const received = Date.now();
    let opened = false;
    serving
      .handler(envelope.req)
      .catch((err): OpenResult => {
        this.opts.log?.error('open_handler_failed', { err: (err as Error).message });
        return { ok: false, error: 'internal', message: 'relay failed to open the socket' };
      })
      .then((result) => {
        opened = result.ok;
        // The router stopped waiting (its clock started before ours: this errs towards keeping).
        if (opened && Date.now() - received > envelope.timeoutMs) return 0;
        const reply: ReplyEnvelope = { id: envelope.id, result };
        return this.publish(envelope.replyTo, JSON.stringify(reply));
      })
      .then((receivers) => {
        if (opened && receivers === 0) serving.undelivered?.(envelope.req);
      })
      .catch((err) => {
        this.opts.log?.warn('open_reply_failed', { err: (err as Error).message });
        if (opened) serving.undelivered?.(envelope.req);
      });
  }

  private outageSince = 0;

  private onConnectionLost(): void {
    this.failWaiting();
    if (this.outageSince || this.closing) return;
    this.outageSince = Date.now();
    this.opts.log?.warn('store_unavailable', { store: 'redis', url: safeUrl(this.opts.url) });
  }

  private onConnectionBack(): void {
    if (!this.outageSince) return;
    this.opts.log?.info('store_recovered', { store: 'redis', downMs: Date.now() - this.outageSince });
    this.outageSince = 0;
  }

  /** The connection dropped: every create still waiting for a relay's answer learns it now, not at its timeout. */
  private failWaiting(): void {
    for (const answer of [...this.waiting.values()])
      answer({ ok: false, error: 'store_unavailable', message: 'the coordination store went away' });
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      this.opts.onError?.(err as Error);
      throw storeDown(err);
    }
  }
}

function storeDown(err: unknown): PolysocketError {
  return err instanceof PolysocketError ? err : new PolysocketError('store_unavailable', `coordination store: ${(err as Error).message}`);
}

function parseJson<T>(s: string): T | undefined {
  try {
    return JSON.parse(s) as T;
  } catch {
    return undefined;
  }
}

/** All keys in one hash slot: the prefix becomes (or already is) a hash tag. */
export function clusterPrefix(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

function safeUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
