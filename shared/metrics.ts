/**
 * Prometheus metrics (prom-client) for GET /metrics. The per-message path only bumps plain
 * numbers (TrafficStats); they are read into the registry at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type RelayCounters, zeroCounters } from './relay-counters';

/** Counted on the hot path as plain numbers: the relay's six counters, and how polls were answered. */
export interface TrafficStats extends RelayCounters {
  pollsWithMessages: number;
  pollsHeartbeat: number;
  /** answered empty: superseded by a newer poll, or the socket went away */
  pollsEmpty: number;
  /** streamed receives opened (docs/PROTOCOL.md §3.4) */
  streamsOpened: number;
}

export function newTrafficStats(): TrafficStats {
  return { ...zeroCounters(), pollsWithMessages: 0, pollsHeartbeat: 0, pollsEmpty: 0, streamsOpened: 0 };
}

/** What a relay reports at scrape time. */
export interface RelaySnapshot {
  socketsOpen: number;
  sessions: number;
  pollsWaiting: number;
  streamsOpen: number;
  bufferedBytes: number;
  stats: TrafficStats;
}

export class Metrics {
  readonly registry = new Registry();
  readonly creates: Counter<'outcome'>;
  readonly upstreamConnect: Histogram<'outcome'>;
  readonly storeErrors: Counter;

  constructor(role: string) {
    this.registry.setDefaultLabels({ role });
    // nodejs_eventloop_lag_seconds and the usual process metrics
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    const registers = [this.registry];
    this.creates = new Counter({
      name: 'polysocket_creates_total',
      help: '/create answers by outcome (ok or the error code)',
      labelNames: ['outcome'],
      registers,
    });
    this.upstreamConnect = new Histogram({
      name: 'polysocket_upstream_connect_seconds',
      help: 'time to open the upstream WebSocket',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.storeErrors = new Counter({ name: 'polysocket_store_errors_total', help: 'coordination store (Redis) errors', registers });
  }

  /** Gauges and traffic counters read from the relay when scraped. */
  watchRelay(snapshot: () => RelaySnapshot): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: (s: RelaySnapshot) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(snapshot()));
        },
      });
    gauge('polysocket_sockets_open', 'sockets whose upstream is open', (s) => s.socketsOpen);
    gauge('polysocket_sessions', 'sessions held, closed ones waiting for their close to be fetched included', (s) => s.sessions);
    gauge('polysocket_polls_waiting', 'long-polls being held', (s) => s.pollsWaiting);
    gauge('polysocket_streams_open', 'streamed receives open', (s) => s.streamsOpen);
    gauge('polysocket_buffered_bytes', 'unacked bytes waiting for clients', (s) => s.bufferedBytes);
    const counter = (name: string, help: string, pairs: [string, (t: TrafficStats) => number][]) =>
      new Counter({
        name,
        help,
        labelNames: ['direction'],
        registers,
        collect() {
          const t = snapshot().stats;
          this.reset();
          for (const [direction, read] of pairs) this.inc({ direction }, read(t));
        },
      });
    counter('polysocket_messages_total', 'messages relayed', [
      ['to_client', (t) => t.messagesToClient],
      ['to_upstream', (t) => t.messagesToUpstream],
    ]);
    counter('polysocket_bytes_total', 'payload bytes relayed', [
      ['to_client', (t) => t.bytesToClient],
      ['to_upstream', (t) => t.bytesToUpstream],
    ]);
    new Counter({
      name: 'polysocket_polls_total',
      help: 'long-polls answered, by how',
      labelNames: ['answer'],
      registers,
      collect() {
        const t = snapshot().stats;
        this.reset();
        this.inc({ answer: 'messages' }, t.pollsWithMessages);
        this.inc({ answer: 'heartbeat' }, t.pollsHeartbeat);
        this.inc({ answer: 'empty' }, t.pollsEmpty);
      },
    });
    new Counter({
      name: 'polysocket_streams_total',
      help: 'streamed receives opened',
      registers,
      collect() {
        this.reset();
        this.inc(snapshot().stats.streamsOpened);
      },
    });
  }
}
