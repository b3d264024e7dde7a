/**
 * The short soak: 200 sockets for 20 s through 2 routers and 3 relays while every fault of
 * `npm run soak` is injected once. Sockets that stayed open lost, duplicated and reordered nothing.
 */
import { runSoak, summary } from '../../bench/soak';

test('200 sockets, 20 s, every fault once: nothing lost, duplicated or reordered on sockets that stayed open', async () => {
  const lines: string[] = [];
  const r = await runSoak({
    durationMs: 20_000,
    sockets: 200,
    sendIntervalMs: 1000,
    pushMs: 1000,
    idleTimeoutMs: 4000,
    pollTtlMs: 5000,
    vanish: 10,
    log: (l) => lines.push(l),
  });
  const report = summary(r);
  expect({ lost: r.stayedOpen.lost, duplicated: r.stayedOpen.duplicated, outOfOrder: r.stayedOpen.outOfOrder, report }).toEqual({
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    report,
  });
  // the checks had something to check
  expect(r.stayedOpen.sockets).toBeGreaterThan(0);
  expect(r.stayedOpen.echoes).toBeGreaterThan(0);
  expect(r.stayedOpen.echoes).toBe(r.stayedOpen.sent);
  expect(r.stayedOpen.pushes).toBeGreaterThan(0);
  // the faults happened and were seen: drained clients got 1001, killed relay's clients 1006
  expect(r.closes['1001 relay shutting down']).toBeGreaterThan(0);
  expect(r.killedRelay.clients).toBeGreaterThan(0);
  // nobody else lost contact (the list names any who did, and when)
  expect({ otherGiveUps: r.otherGiveUps, faults: r.faults }).toEqual({ otherGiveUps: [], faults: r.faults });
  // the documented bound: the client's give-up time, plus its last retry (backoff at most 1 s) and slack for a loaded machine
  expect(r.killedRelay.learnedMsMax).toBeLessThan(r.options.giveUpMs + 5000);
  expect(r.stallers.closed['1008']).toBe(r.stallers.sockets);
  expect(r.vanished.expiredOnRelays).toBe(r.vanished.sockets);
  expect(r.errors.store_unavailable).toBeGreaterThan(0);
  expect(r.proxy.dropped).toBeGreaterThan(0);
  expect(r.proxy.delayed).toBeGreaterThan(0);
  expect(r.faults.map((f) => f.what)).toEqual(
    expect.arrayContaining(['Redis killed', 'relay1 killed (SIGKILL)', 'relay2 drained (SIGTERM)']),
  );
}, 90_000);
