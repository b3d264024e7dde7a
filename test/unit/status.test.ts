/** The status view from samples of the store: rates from successive counters, stale heartbeats, load shares. */
import { zeroCounters } from '../../shared/relay-counters';
import { StatusHistory } from '../../router/status';
import type { RelayInfo, RouterInfo } from '../../shared/store/store';

const relay = (id: string, sockets: number, at: number, c: Partial<NonNullable<RelayInfo['counters']>> = {}): RelayInfo => ({
  id,
  run: 'b',
  host: `${id}.example.com`,
  sockets,
  maxSockets: 100,
  draining: false,
  heartbeatAt: at,
  counters: { ...zeroCounters(), ...c },
});
const router = (id: string, at: number, creates: number, refused: Record<string, number> = {}): RouterInfo => ({
  id,
  heartbeatAt: at,
  creates,
  refused,
  pendingCreates: 0,
});

test('rates are the counters’ growth between the last two samples, per second', () => {
  const h = new StatusHistory(1000);
  h.add({ at: 0, relays: [relay('r1', 1, 0, { messagesToUpstream: 10, socketsOpened: 1 })], routers: [router('a', 0, 4)] });
  h.add({
    at: 2000,
    relays: [relay('r1', 3, 2000, { messagesToUpstream: 30, socketsOpened: 5 })],
    routers: [router('a', 2000, 10, { no_relay: 2 })],
  });
  const v = h.view()!;
  expect(v.relays[0].perSecond).toMatchObject({ messagesIn: 10, opened: 2 });
  expect(v.routers[0]).toMatchObject({ createsPerSecond: 3, refusalsPerSecond: 1, refused: { no_relay: 2 } });
  expect(v.totals).toMatchObject({ relays: 1, routers: 1, sockets: 3, messagesPerSecond: 10, createsPerSecond: 3 });
});

test('a relay whose heartbeat is older than one and a half heartbeats is stale', () => {
  const h = new StatusHistory(1000);
  h.add({ at: 5000, relays: [relay('fresh', 0, 4500), relay('late', 0, 3000)], routers: [] });
  expect(h.view()!.relays.map((r) => [r.id, r.stale])).toEqual([
    ['fresh', false],
    ['late', true],
  ]);
});

test("each relay's share of the sockets, so an uneven placement shows", () => {
  const h = new StatusHistory(1000);
  h.add({ at: 0, relays: [relay('r1', 30, 0), relay('r2', 10, 0)], routers: [] });
  expect(h.view()!.relays.map((r) => r.share)).toEqual([0.75, 0.25]);
});

test('the history keeps the last minutes, one point per sample', () => {
  const h = new StatusHistory(1000, 10_000);
  for (let t = 0; t <= 30_000; t += 1000) h.add({ at: t, relays: [relay('r1', t / 1000, t)], routers: [] });
  const points = h.view()!.history;
  expect(points[0].at).toBeGreaterThanOrEqual(20_000);
  expect(points.at(-1)).toMatchObject({ at: 30_000, sockets: 30 });
});

test('a restarted relay (new run) does not produce a negative rate', () => {
  const h = new StatusHistory(1000);
  h.add({ at: 0, relays: [relay('r1', 0, 0, { messagesToUpstream: 500 })], routers: [] });
  h.add({ at: 1000, relays: [{ ...relay('r1', 0, 1000, { messagesToUpstream: 5 }), run: 'new' }], routers: [] });
  expect(h.view()!.relays[0].perSecond.messagesIn).toBe(0);
});
