/**
 * One contract, two stores: the embedded MemoryStore and RedisStore (real Redis, own prefix).
 */
import { MemoryStore } from '../../shared/store/memory-store';
import { RedisStore } from '../../shared/store/redis-store';
import type { CoordinationStore, OpenRequest, RelayInfo } from '../../shared/store/store';
import { ownCluster, type OwnCluster } from '../helpers/redis-cluster';
import { REDIS_URL, uniquePrefix } from '../helpers/services';
import { until } from '../harness/until';

let cluster: Promise<OwnCluster> | undefined;
afterAll(async () => (await cluster)?.stop());

const relay = (id: string, sockets = 0, run = 'b1'): RelayInfo => ({
  id,
  run,
  host: `${id}.example.com`,
  sockets,
  maxSockets: 100,
  draining: false,
});
const openReq: OpenRequest = {
  socketId: 'sock-1',
  uniq: 'u1',
  target: 'ws://t.example/',
  protocols: ['p'],
  origin: 'http://a.example',
  from: 'test',
};

describe.each([
  ['MemoryStore', async () => [new MemoryStore(), new MemoryStore()] as CoordinationStore[]],
  [
    'RedisStore',
    async () => {
      const prefix = uniquePrefix('contract');
      return [
        await RedisStore.connect({ url: REDIS_URL, prefix }),
        await RedisStore.connect({ url: REDIS_URL, prefix }),
      ] as CoordinationStore[];
    },
  ],
  [
    'RedisStore on a Redis Cluster',
    async () => {
      cluster ??= ownCluster();
      const { url } = await cluster;
      const prefix = uniquePrefix('contract-cluster');
      return [
        // the wait is for the connection, bounded generously: a busy machine may take its time
        await RedisStore.connect({ url, cluster: true, prefix, connectTimeoutMs: 60_000 }),
        await RedisStore.connect({ url, cluster: true, prefix, connectTimeoutMs: 60_000 }),
      ] as CoordinationStore[];
    },
  ],
])('%s', (name, make) => {
  let a: CoordinationStore;
  /** a second handle on the same store: another process for Redis, the same maps for memory */
  let b: CoordinationStore;

  beforeEach(async () => {
    const [x, y] = await make();
    a = x;
    b = name === 'MemoryStore' ? x : y;
    if (name === 'MemoryStore') await y.close();
  }, 120_000); // the first one on a Cluster waits for the cluster to form
  afterEach(async () => {
    await a.close();
    if (b !== a) await b.close();
  });

  test('an announced relay is live with its load, for every handle', async () => {
    await a.announceRelay(relay('r1', 3), 5000);
    expect(await b.liveRelays()).toEqual([relay('r1', 3)]);
  });

  test('a re-announce replaces the load', async () => {
    await a.announceRelay(relay('r1', 3), 5000);
    await a.announceRelay(relay('r1', 7), 5000);
    expect((await b.liveRelays()).map((r) => r.sockets)).toEqual([7]);
  });

  test('a relay whose announcement expired is not live', async () => {
    await a.announceRelay(relay('r1'), 60);
    await a.announceRelay(relay('r2'), 5000);
    await until(async () => (await b.liveRelays()).length === 1, 3000, 'expiry');
    expect((await b.liveRelays()).map((r) => r.id)).toEqual(['r2']);
  });

  test('a run is alive while its relay announces, draining too, and not once its announcement expired', async () => {
    await a.announceRelay(relay('r1', 0, 'run-r1'), 5000);
    await a.announceRelay(relay('r2', 0, 'run-r2'), 60);
    await a.withdrawRelay('r1');
    expect(await b.runAlive('run-r1')).toBe(true);
    await until(async () => !(await b.runAlive('run-r2')), 3000, 'expiry of r2');
    expect(await b.runAlive('run-r1')).toBe(true);
  });

  test('a run never announced is not alive', async () => {
    expect(await b.runAlive('never-seen-1')).toBe(false);
  });

  test('a withdrawn relay is gone at once', async () => {
    await a.announceRelay(relay('r1'), 5000);
    await a.withdrawRelay('r1');
    expect(await b.liveRelays()).toEqual([]);
  });

  /** an admission that asks the relay it picks to open `openReq` */
  const admitAndOpen = (store: CoordinationStore, timeoutMs = 2000) =>
    store.admit({ counters: [], windowMs: 60_000, dice: 0, open: { req: openReq, timeoutMs } });

  test('an admission with an open request reaches the serving relay it picked and returns its answer', async () => {
    const seen: OpenRequest[] = [];
    await a.announceRelay(relay('r1'), 5000);
    await a.serveOpens('r1', async (req) => {
      seen.push(req);
      return { ok: true, fqdn: 'u1.r1.example.com', url: 'http://u1.r1.example.com', protocol: 'p', run: 'boot-r1' };
    });
    expect(await admitAndOpen(b)).toEqual({
      ok: true,
      relay: relay('r1'),
      opened: { ok: true, fqdn: 'u1.r1.example.com', url: 'http://u1.r1.example.com', protocol: 'p', run: 'boot-r1' },
    });
    expect(seen).toEqual([openReq]);
  });

  test('an admission refused asks no relay', async () => {
    const seen: OpenRequest[] = [];
    await a.announceRelay(relay('r1'), 5000);
    await a.serveOpens('r1', async (req) => {
      seen.push(req);
      return { ok: true, fqdn: 'f', url: 'u', protocol: '', run: 'b' };
    });
    const counters = [{ key: 'ip:x', limit: 1 }];
    expect((await b.admit({ counters, windowMs: 60_000, dice: 0 })).ok).toBe(true);
    const refused = await b.admit({ counters, windowMs: 60_000, dice: 0, open: { req: openReq, timeoutMs: 2000 } });
    expect(refused).toEqual({ ok: false, error: 'rate_limited' });
    expect(seen).toEqual([]);
  });

  test('an open request to a relay nobody serves answers relay_unavailable', async () => {
    await a.announceRelay(relay('nobody'), 5000);
    expect(await admitAndOpen(b)).toMatchObject({ ok: true, opened: { ok: false, error: 'relay_unavailable' } });
  });

  test('an open request answers create_timeout when the relay does not answer in time', async () => {
    await a.announceRelay(relay('slow'), 5000);
    await a.serveOpens('slow', () => new Promise(() => undefined));
    expect(await admitAndOpen(b, 100)).toMatchObject({ ok: true, opened: { ok: false, error: 'create_timeout' } });
  });

  test('after stop, a relay no longer takes open requests', async () => {
    await a.announceRelay(relay('r1'), 5000);
    const stop = await a.serveOpens('r1', async () => ({ ok: true, fqdn: 'f', url: 'u', protocol: '', run: 'b' }));
    await stop();
    expect(await admitAndOpen(b, 1000)).toMatchObject({ ok: true, opened: { ok: false, error: 'relay_unavailable' } });
  });

  /** admission of a create that takes one of `max` slots of `key` */
  const take = (store: CoordinationStore, key: string, socketId: string, max: number) =>
    store.admit({ counters: [], windowMs: 60_000, dice: 0, slot: { key, socketId, max, ttlMs: 0 } }).then((r) => r.ok);

  test('slots: at most max held, a released slot is free again', async () => {
    await a.announceRelay(relay('r1'), 5000);
    expect(await take(a, 'tok', 's1', 2)).toBe(true);
    expect(await take(b, 'tok', 's2', 2)).toBe(true);
    expect(await take(a, 'tok', 's3', 2)).toBe(false);
    await b.releaseSlot('tok', 's1');
    expect(await take(a, 'tok', 's3', 2)).toBe(true);
  });

  test('slots held on a relay whose heartbeat expired are reclaimed', async () => {
    await a.announceRelay(relay('dying'), 60);
    expect(await take(a, 'tok', 's1', 1)).toBe(true);
    expect(await take(a, 'tok', 's2', 1)).toBe(false);
    await until(async () => (await b.liveRelays()).length === 0, 3000, 'expiry');
    await a.announceRelay(relay('r2'), 5000);
    expect(await take(b, 'tok', 's2', 1)).toBe(true);
  });

  test('slots held by an earlier run of a relay are reclaimed once that run lapses, though the id came back', async () => {
    await a.announceRelay(relay('same', 0, 'run1'), 60);
    expect(await take(a, 'tok', 's1', 1)).toBe(true);
    await a.announceRelay(relay('same', 0, 'run2'), 5000);
    await until(() => take(b, 'tok', 's2', 1), 3000, 'the old run lapsing');
    expect(await take(a, 'tok', 's3', 1)).toBe(false);
  });

  test("a relay's heartbeat carries its counters to every reader", async () => {
    const counters = {
      socketsOpened: 3,
      socketsClosed: 1,
      messagesToClient: 10,
      bytesToClient: 100,
      messagesToUpstream: 7,
      bytesToUpstream: 70,
    };
    await a.announceRelay({ ...relay('counted'), heartbeatAt: 1234, counters }, 5000);
    expect((await b.liveRelays()).find((r) => r.id === 'counted')).toMatchObject({ heartbeatAt: 1234, counters });
  });

  test("routers announce themselves: any reader sees every live router's counters, and an expired one goes", async () => {
    await a.announceRouter({ id: 'rt-1', heartbeatAt: 1, creates: 5, refused: { token_invalid: 2 }, pendingCreates: 1 }, 5000);
    await b.announceRouter({ id: 'rt-2', heartbeatAt: 2, creates: 0, refused: {}, pendingCreates: 0 }, 60);
    expect((await a.liveRouters()).map((r) => r.id).sort()).toEqual(['rt-1', 'rt-2']);
    expect((await b.liveRouters()).find((r) => r.id === 'rt-1')).toEqual({
      id: 'rt-1',
      heartbeatAt: 1,
      creates: 5,
      refused: { token_invalid: 2 },
      pendingCreates: 1,
    });
    await until(async () => (await a.liveRouters()).length === 1, 3000, 'rt-2 expired');
  });

  describe('admit: a create in one round trip', () => {
    const base = { windowMs: 60_000, dice: 0 };
    test('places on the least-loaded live relay, skipping draining, full and excluded ones', async () => {
      await a.announceRelay(relay('busy', 5), 5000);
      await a.announceRelay(relay('idle', 1), 5000);
      await a.announceRelay({ ...relay('draining', 0), draining: true }, 5000);
      await a.announceRelay({ ...relay('full', 0), maxSockets: 0 }, 5000);
      expect(await b.admit({ ...base, counters: [] })).toMatchObject({ ok: true, relay: { id: 'idle' } });
      expect(await b.admit({ ...base, counters: [], exclude: ['idle'] })).toMatchObject({ ok: true, relay: { id: 'busy' } });
      expect(await b.admit({ ...base, counters: [], exclude: ['idle', 'busy'] })).toEqual({ ok: false, error: 'no_relay' });
    });

    test("each admission adds to its relay's load at once, until the relay reports taking it", async () => {
      await a.announceRelay(relay('r1', 0, 'run1'), 5000);
      await a.announceRelay(relay('r2', 0, 'run2'), 5000);
      const placed: string[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await (i % 2 ? a : b).admit({ ...base, counters: [] });
        placed.push(r.ok ? r.relay.id : r.error);
      }
      expect(placed.filter((id) => id === 'r1')).toHaveLength(3);
      expect(placed.filter((id) => id === 'r2')).toHaveLength(3);
      // r1 reports it took its 3 and now holds 1 (2 closed already): its load is 1, r2's still 3
      await a.announceRelay(relay('r1', 1, 'run1'), 5000, 3);
      expect(await b.admit({ ...base, counters: [] })).toMatchObject({ ok: true, relay: { id: 'r1' } });
      expect(await b.admit({ ...base, counters: [] })).toMatchObject({ ok: true, relay: { id: 'r1' } });
    });

    test('counters refuse past their limit, and a refused create still counts', async () => {
      await a.announceRelay(relay('r1'), 5000);
      const counters = [{ key: 'ip:a', limit: 2 }];
      expect((await a.admit({ ...base, counters })).ok).toBe(true);
      expect((await b.admit({ ...base, counters })).ok).toBe(true);
      expect(await a.admit({ ...base, counters })).toEqual({ ok: false, error: 'rate_limited' });
      expect(await a.countHit('ip:a', 60_000)).toBe(4);
    });

    test('single use: the second admission of a jti is token_reused, on any store instance', async () => {
      await a.announceRelay(relay('r1'), 5000);
      const once = { key: 'jti:x', ttlMs: 5000 };
      expect((await a.admit({ ...base, counters: [], once })).ok).toBe(true);
      expect(await b.admit({ ...base, counters: [], once })).toEqual({ ok: false, error: 'token_reused' });
    });

    test("takes the token's slot on the chosen relay's run, and refuses past max", async () => {
      await a.announceRelay(relay('r1'), 5000);
      const slot = (socketId: string) => ({ key: 'tok', socketId, max: 1, ttlMs: 0 });
      expect((await a.admit({ ...base, counters: [], slot: slot('s1') })).ok).toBe(true);
      expect(await b.admit({ ...base, counters: [], slot: slot('s2') })).toEqual({ ok: false, error: 'socket_limit' });
      await b.releaseSlot('tok', 's1');
      expect((await b.admit({ ...base, counters: [], slot: slot('s2') })).ok).toBe(true);
    });

    test('slots held by a run whose liveness lapsed are reclaimed', async () => {
      await a.announceRelay(relay('gone', 0, 'run1'), 60);
      await a.announceRelay(relay('stays', 3), 5000);
      expect(await a.admit({ ...base, counters: [], slot: { key: 'tok2', socketId: 's1', max: 1, ttlMs: 0 } })).toMatchObject({
        ok: true,
        relay: { id: 'gone' },
      });
      await until(async () => !(await b.liveRelays()).some((r) => r.id === 'gone'), 3000, 'the run lapsed');
      expect(await b.admit({ ...base, counters: [], slot: { key: 'tok2', socketId: 's2', max: 1, ttlMs: 0 } })).toMatchObject({
        ok: true,
        relay: { id: 'stays' },
      });
    });
  });

  test('countHit counts within a window', async () => {
    expect(await a.countHit('ip:1', 60_000)).toBe(1);
    expect(await b.countHit('ip:1', 60_000)).toBe(2);
    expect(await a.countHit('ip:2', 60_000)).toBe(1);
  });
});

test('RedisStore.connect to an unreachable Redis fails fast with store_unavailable', async () => {
  await expect(RedisStore.connect({ url: 'redis://127.0.0.1:1', prefix: 'x:', connectTimeoutMs: 1000 })).rejects.toMatchObject({
    code: 'store_unavailable',
  });
});

test('a relay of the release before, which announces its run as boot, is still placed on, slot and all', async () => {
  const prefix = uniquePrefix('contract-boot');
  const store = await RedisStore.connect({ url: REDIS_URL, prefix });
  try {
    const { run, ...rest } = relay('old', 0, 'old-run');
    await store.announceRelay({ ...rest, boot: run } as unknown as RelayInfo, 5000);
    const admitted = await store.admit({
      counters: [],
      windowMs: 60_000,
      slot: { key: 'tok', socketId: 's1', max: 1, ttlMs: 60_000 },
      dice: 0,
    });
    expect(admitted).toMatchObject({ ok: true, relay: { id: 'old' } });
  } finally {
    await store.close();
  }
});
