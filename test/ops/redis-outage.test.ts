/**
 * Redis killed and restarted during a run (a redis-server of the test's own): existing sockets
 * keep flowing, /create fails fast with store_unavailable, and once Redis is back the relays
 * re-register by themselves and creates succeed again, with no restart.
 */
import { split } from '../helpers/services';
import { spawnRole } from '../harness/processes';
import { ownRedis } from '../harness/redis';
import { until } from '../harness/until';
import { startUpstream } from '../helpers/upstream';
import { collect, create, request, sendGet } from '../helpers/wire';

test('Redis down and back', async () => {
  const redis = await ownRedis();
  const up = await startUpstream();
  const svc = await split({ routers: 1, relays: 1, env: { REDIS_URL: redis.url } });
  const router = svc.routers[0];
  try {
    const s = await create(router.base, { target: up.url });
    await sendGet(s, { d: 'before', n: 1 });
    let { ack } = await collect(s, 1);

    await redis.kill();

    // the data path never touches Redis
    await sendGet(s, { d: 'during', n: 2 });
    const during = await collect(s, 1, { ack });
    expect(during.messages[0].data).toBe('during');
    ack = during.ack;

    // creates fail fast, inside the callback, with the code that says why
    const refused = await request(`${router.base}/create?cb=cb&target=${encodeURIComponent(up.url)}`);
    expect(refused.body).toMatchObject({ ok: false, error: 'store_unavailable' });
    const ready = await request(`${router.admin}/readyz`);
    expect(ready.body).toMatchObject({ ok: false, reasons: ['store unreachable'] });

    await redis.start(); // empty: it keeps nothing

    await until(async () => (await router.store.liveRelays().catch(() => [])).length === 1, 10_000, 'relay re-registered');
    await until(
      async () =>
        await create(router.base, { target: up.url }).then(
          () => true,
          () => false,
        ),
      10_000,
      'creates succeed again',
    );
    expect((await request(`${router.admin}/readyz`)).body).toEqual({ ok: true });
    await sendGet(s, { d: 'after', n: 3 });
    expect((await collect(s, 1, { ack })).messages[0].data).toBe('after');
  } finally {
    await svc.close();
    await up.close();
    await redis.kill();
  }
});

test('an outage is logged once when it starts and once when it ends, not per retry or heartbeat', async () => {
  const redis = await ownRedis();
  const relay = await spawnRole('relay', { REDIS_URL: redis.url, STORE_PREFIX: 'outage-log:', HEARTBEAT_MS: '50', RELAY_TTL_MS: '1000' });
  try {
    await redis.kill();
    await until(() => relay.logs.some((l) => l.event === 'store_unavailable'), 10_000, 'the outage noticed');
    // an outage long enough for many failed heartbeats (each one a store error on /metrics)
    const storeErrors = async () =>
      Number(
        /^polysocket_store_errors_total(?:\{[^}]*\})? (\S+)$/m.exec(
          (await request(`http://127.0.0.1:${relay.adminPort}/metrics`)).text,
        )?.[1] ?? 0,
      );
    await until(async () => (await storeErrors()) >= 10, 15_000, 'ten failed store calls');
    await redis.start();
    await until(() => relay.logs.some((l) => l.event === 'store_recovered'), 15_000, 'the recovery noticed');
    const warnings = relay.logs.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.event);
    expect(warnings.sort()).toEqual(['relay_announce_failed', 'store_unavailable']);
  } finally {
    await relay.kill();
    await redis.kill();
  }
});
