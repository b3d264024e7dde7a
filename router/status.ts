/**
 * The cluster as the status page and `polysocket status` show it, from the store alone: every
 * relay's and router's heartbeat carries cumulative counters; a router samples them every few
 * seconds and turns successive samples into rates. Never a token, socket id, target or client
 * address: only counts. The view is a pure function of the samples (unit-tested).
 */
import { zeroCounters } from '../shared/relay-counters';
import type { CoordinationStore, RelayCounters, RelayInfo, RouterInfo } from '../shared/store/store';

export interface Sample {
  at: number;
  relays: RelayInfo[];
  routers: RouterInfo[];
}

export interface RelayView {
  id: string;
  host: string;
  sockets: number;
  maxSockets: number;
  draining: boolean;
  /** ms since its last heartbeat; stale past 1.5 heartbeats, gone when its registration expires */
  heartbeatAgeMs: number;
  stale: boolean;
  /** its sockets over all relays' */
  share: number;
  perSecond: { opened: number; closed: number; messagesIn: number; messagesOut: number; bytesIn: number; bytesOut: number };
}

export interface RouterView {
  id: string;
  heartbeatAgeMs: number;
  stale: boolean;
  pendingCreates: number;
  /** creates placed since the router started */
  creates: number;
  createsPerSecond: number;
  refusalsPerSecond: number;
  /** refusals since the router started, by code */
  refused: Record<string, number>;
}

export interface StatusView {
  at: number;
  relays: RelayView[];
  routers: RouterView[];
  totals: {
    relays: number;
    routers: number;
    sockets: number;
    messagesPerSecond: number;
    createsPerSecond: number;
    refusalsPerSecond: number;
  };
  /** one point per sample, oldest first: the chart */
  history: { at: number; sockets: number; messagesPerSecond: number; refusalsPerSecond: number }[];
}

const ZERO: RelayCounters = zeroCounters();

const rate = (now: number, before: number, ms: number) => (ms > 0 ? Math.max(0, ((now - before) * 1000) / ms) : 0);
const refusals = (r: RouterInfo | undefined) => Object.values(r?.refused ?? {}).reduce((a, b) => a + b, 0);

/** Rates between two samples, per relay and per router. */
function between(prev: Sample | undefined, cur: Sample, heartbeatMs: number): Omit<StatusView, 'history'> {
  const ms = prev ? cur.at - prev.at : 0;
  const totalSockets = cur.relays.reduce((a, r) => a + r.sockets, 0);
  const relays = cur.relays
    .map((r): RelayView => {
      const c = r.counters ?? ZERO;
      const p = prev?.relays.find((x) => x.id === r.id && x.run === r.run)?.counters ?? c;
      const age = Math.max(0, cur.at - (r.heartbeatAt ?? cur.at));
      return {
        id: r.id,
        host: r.host,
        sockets: r.sockets,
        maxSockets: r.maxSockets,
        draining: r.draining,
        heartbeatAgeMs: age,
        stale: age > heartbeatMs * 1.5,
        share: totalSockets > 0 ? r.sockets / totalSockets : 0,
        perSecond: {
          opened: rate(c.socketsOpened, p.socketsOpened, ms),
          closed: rate(c.socketsClosed, p.socketsClosed, ms),
          messagesIn: rate(c.messagesToUpstream, p.messagesToUpstream, ms),
          messagesOut: rate(c.messagesToClient, p.messagesToClient, ms),
          bytesIn: rate(c.bytesToUpstream, p.bytesToUpstream, ms),
          bytesOut: rate(c.bytesToClient, p.bytesToClient, ms),
        },
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  const routers = cur.routers
    .map((r): RouterView => {
      const p = prev?.routers.find((x) => x.id === r.id);
      const age = Math.max(0, cur.at - r.heartbeatAt);
      return {
        id: r.id,
        heartbeatAgeMs: age,
        stale: age > heartbeatMs * 1.5,
        pendingCreates: r.pendingCreates,
        creates: r.creates,
        createsPerSecond: rate(r.creates, p?.creates ?? r.creates, ms),
        refusalsPerSecond: rate(refusals(r), p ? refusals(p) : refusals(r), ms),
        refused: r.refused,
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    at: cur.at,
    relays,
    routers,
    totals: {
      relays: relays.length,
      routers: routers.length,
      sockets: totalSockets,
      messagesPerSecond: sum(relays.map((r) => r.perSecond.messagesIn + r.perSecond.messagesOut)),
      createsPerSecond: sum(routers.map((r) => r.createsPerSecond)),
      refusalsPerSecond: sum(routers.map((r) => r.refusalsPerSecond)),
    },
  };
}

/** The samples of the last `keepMs`, and the view of them. */
export class StatusHistory {
  private samples: Sample[] = [];
  /** the chart: one point per sample, made once, when the sample arrives */
  private points: StatusView['history'] = [];

  constructor(
    private readonly heartbeatMs: number,
    private readonly keepMs = 10 * 60_000,
  ) {}

  add(sample: Sample): void {
    const { totals } = between(this.samples[this.samples.length - 1], sample, this.heartbeatMs);
    this.samples.push(sample);
    this.points.push({
      at: sample.at,
      sockets: totals.sockets,
      messagesPerSecond: totals.messagesPerSecond,
      refusalsPerSecond: totals.refusalsPerSecond,
    });
    const oldest = sample.at - this.keepMs;
    while (this.samples.length > 2 && this.samples[0].at < oldest) {
      this.samples.shift();
      this.points.shift();
    }
  }

  view(): StatusView | undefined {
    const n = this.samples.length;
    if (n === 0) return undefined;
    return { ...between(this.samples[n - 2], this.samples[n - 1], this.heartbeatMs), history: [...this.points] };
  }
}

/** Samples the store every `everyMs` into `history` (one liveRelays and one liveRouters a round); returns a stop. */
export function sampleStatus(store: CoordinationStore, history: StatusHistory, everyMs: number): () => void {
  const take = async () => {
    try {
      const [relays, routers] = await Promise.all([store.liveRelays(), store.liveRouters()]);
      history.add({ at: Date.now(), relays, routers });
    } catch {
      // the store is down: the page shows the last samples, and /readyz says why
    }
  };
  void take();
  const timer = setInterval(() => void take(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
