/**
 * The embedded coordination store: plain maps in this process. It serves exactly one process
 * (the all-in-one `polysocket start`); routers and relays in other processes need RedisStore.
 */
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

interface Expiring {
  expiresAt: number;
}

/** Maps sweep expired entries once they grow past this, so abandoned keys cannot pile up. */
const SWEEP_AT = 10_000;

export class MemoryStore implements CoordinationStore {
  private readonly relays = new Map<string, RelayInfo & Expiring>();
  /**
   * run -> expiry and the opens sent to that run it has not reported yet (admit). Outlives
   * withdrawRelay, since a draining relay still holds its sockets.
   */
  private readonly runs = new Map<string, Expiring & { sent: number }>();
  private readonly handlers = new Map<string, OpenHandler>();
  private readonly undelivered = new Map<string, UndeliveredHandler>();
  private readonly slots = new Map<string, Map<string, string>>();
  private readonly hits = new Map<string, { count: number } & Expiring>();
  private readonly claims = new Map<string, Expiring>();
  private readonly routers = new Map<string, RouterInfo & Expiring>();

  constructor(private readonly now: () => number = Date.now) {}

  async announceRelay(info: RelayInfo, ttlMs: number, opensTaken = 0): Promise<void> {
    const now = this.now();
    this.relays.set(info.id, { ...info, expiresAt: now + ttlMs });
    const known = this.runs.get(info.run);
    if (!known) sweep(this.runs, now);
    this.runs.set(info.run, { expiresAt: now + ttlMs, sent: Math.max(0, (known?.sent ?? 0) - opensTaken) });
  }

  async withdrawRelay(id: string): Promise<void> {
    this.relays.delete(id);
  }

  async liveRelays(): Promise<RelayInfo[]> {
    return unexpired(this.relays, this.now());
  }

  async runAlive(run: string): Promise<boolean> {
    const known = this.runs.get(run);
    return known !== undefined && known.expiresAt > this.now();
  }

  async serveOpens(relayId: string, handler: OpenHandler, undelivered?: UndeliveredHandler): Promise<() => Promise<void>> {
    this.handlers.set(relayId, handler);
    if (undelivered) this.undelivered.set(relayId, undelivered);
    return async () => {
      if (this.handlers.get(relayId) === handler) this.handlers.delete(relayId);
    };
  }

  /** The open request of an admission with `open`, handed to the relay's handler in this process. */
  private ask(relayId: string, req: OpenRequest, timeoutMs: number): Promise<OpenResult> {
    const handler = this.handlers.get(relayId);
    if (!handler) return Promise.resolve({ ok: false, error: 'relay_unavailable', message: `relay ${relayId} is not serving` });
    return new Promise<OpenResult>((resolve, reject) => {
      let gaveUp = false;
      const timer = setTimeout(() => {
        gaveUp = true;
        resolve({ ok: false, error: 'create_timeout', message: `relay ${relayId} did not answer within ${timeoutMs} ms` });
      }, timeoutMs);
      handler(structuredClone(req)).then(
        (r) => {
          clearTimeout(timer);
          if (gaveUp && r.ok) this.undelivered.get(relayId)?.(req);
          resolve(r);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  private async acquireSlot(key: string, socketId: string, holder: string, max: number): Promise<boolean> {
    let held = this.slots.get(key);
    if (!held) {
      held = new Map();
      this.slots.set(key, held);
    }
    if (held.size >= max) {
      const now = this.now();
      for (const [sid, h] of held) {
        const r = this.relays.get(h.slice(0, h.indexOf('/')));
        if (!r || r.expiresAt <= now || relayInstance(r) !== h) held.delete(sid);
      }
      if (held.size >= max) return false;
    }
    held.set(socketId, holder);
    return true;
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    for (const c of req.counters) if ((await this.countHit(c.key, req.windowMs)) > c.limit) return { ok: false, error: 'rate_limited' };
    if (req.once && !(await this.claimOnce(req.once.key, req.once.ttlMs))) return { ok: false, error: 'token_reused' };
    const exclude = new Set(req.exclude ?? []);
    // A relay's load: what it announced, plus the opens sent to it that it has not reported yet.
    const load = (r: RelayInfo) => r.sockets + (this.runs.get(r.run)?.sent ?? 0);
    const open = (await this.liveRelays()).filter((r) => !exclude.has(r.id) && !r.draining && load(r) < r.maxSockets);
    if (open.length === 0) return { ok: false, error: 'no_relay' };
    const least = Math.min(...open.map(load));
    const ties = open.filter((r) => load(r) === least);
    const relay = ties[Math.floor(req.dice * ties.length)];
    if (req.slot && !(await this.acquireSlot(req.slot.key, req.slot.socketId, relayInstance(relay), req.slot.max))) {
      return { ok: false, error: 'socket_limit' };
    }
    // Counts itself at once, until the relay reports it took the open (announceRelay), as admit.lua does.
    const run = this.runs.get(relay.run);
    if (run && (!req.open || this.handlers.has(relay.id))) run.sent++;
    if (req.open) return { ok: true, relay, opened: await this.ask(relay.id, req.open.req, req.open.timeoutMs) };
    return { ok: true, relay };
  }

  async releaseSlot(key: string, socketId: string): Promise<void> {
    const held = this.slots.get(key);
    if (!held) return;
    held.delete(socketId);
    if (held.size === 0) this.slots.delete(key);
  }

  async countHit(key: string, windowMs: number): Promise<number> {
    const now = this.now();
    const k = `${key}:${Math.floor(now / windowMs)}`;
    const entry = this.hits.get(k);
    if (entry) return ++entry.count;
    sweep(this.hits, now);
    this.hits.set(k, { count: 1, expiresAt: (Math.floor(now / windowMs) + 1) * windowMs });
    return 1;
  }

  private async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const seen = this.claims.get(key);
    if (seen && seen.expiresAt > now) return false;
    sweep(this.claims, now);
    this.claims.set(key, { expiresAt: now + ttlMs });
    return true;
  }

  async announceRouter(info: RouterInfo, ttlMs: number): Promise<void> {
    this.routers.set(info.id, { ...info, expiresAt: this.now() + ttlMs });
  }

  async liveRouters(): Promise<RouterInfo[]> {
    return unexpired(this.routers, this.now());
  }

  async ping(): Promise<void> {
    // in this process: always reachable
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}

function sweep(map: Map<string, Expiring>, now: number): void {
  if (map.size < SWEEP_AT) return;
  for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
}

/** The entries that have not expired (without their expiry); expired ones are dropped. */
function unexpired<T>(map: Map<string, T & Expiring>, now: number): T[] {
  const live: T[] = [];
  for (const [id, entry] of map) {
    if (entry.expiresAt <= now) map.delete(id);
    else {
      const { expiresAt: _expiresAt, ...info } = entry;
      live.push(info as unknown as T);
    }
  }
  return live;
}
