/**
 * SIGTERM drains a relay: no new sockets, clients get close 1001, upstreams are closed, the
 * registration is removed at once (not by expiry), and the process exits 0 in bounded time.
 */
import { spawnRole } from '../harness/processes';
import { REDIS_URL, split, uniquePrefix } from '../helpers/services';
import { until } from '../harness/until';
import { startUpstream } from '../helpers/upstream';
import { collect, create, poll } from '../helpers/wire';

test('SIGTERM: close 1001 to clients and upstreams, withdrawn, exit 0', async () => {
  const prefix = uniquePrefix('drain');
  const up = await startUpstream();
  // a long TTL: if the registration disappears, only the withdrawal can explain it
  const env = {
    REDIS_URL,
    STORE_PREFIX: prefix,
    HEARTBEAT_MS: '100',
    RELAY_TTL_MS: '60000',
    AUTH: 'none',
    ALLOW_TARGETS: '127.0.0.1',
    DRAIN_TIMEOUT_MS: '5000',
  };
  const draining = await spawnRole('relay', { ...env, RELAY_ID: 'draining' });
  const svc = await split({ routers: 1, relays: 0, prefix, env: { RELAY_TTL_MS: '60000' } });
  try {
    const a = await create(svc.routers[0].base, { target: up.url });
    const b = await create(svc.routers[0].base, { target: up.url });
    expect(a.fqdn).toContain(`:${draining.port}`);

    draining.child.kill('SIGTERM');
    const ca = await collect(a, 1);
    const cb = await collect(b, 1);
    expect(ca.messages).toEqual([{ type: 'close', seq: 1, code: 1001, reason: 'relay shutting down' }]);
    expect(cb.messages[0]).toMatchObject({ type: 'close', code: 1001 });
    await up.closedCount(2);
    expect(up.closes).toEqual([
      { code: 1001, reason: 'relay shutting down' },
      { code: 1001, reason: 'relay shutting down' },
    ]);

    // while draining it takes nothing new
    expect(await svc.routers[0].store.liveRelays()).toEqual([expect.objectContaining({ id: 'draining', draining: true })]);
    await expect(create(svc.routers[0].base, { target: up.url })).rejects.toMatchObject({ code: 'no_relay' });

    // clients ack their close: nothing is left to wait for, the relay exits cleanly
    await poll(a, { ack: ca.ack, ttl: 0 });
    await poll(b, { ack: cb.ack, ttl: 0 });
    expect(await draining.exited).toBe(0);
    expect(await svc.routers[0].store.liveRelays()).toEqual([]);
    expect(draining.logs.map((l) => l.event)).toEqual(expect.arrayContaining(['shutdown', 'relay_stopped']));
  } finally {
    await draining.kill('SIGKILL');
    await svc.close();
    await up.close();
  }
});

test('SIGTERM with clients that never come back: the relay still exits after DRAIN_TIMEOUT_MS', async () => {
  const prefix = uniquePrefix('drain2');
  const up = await startUpstream();
  const env = { REDIS_URL, STORE_PREFIX: prefix, AUTH: 'none', ALLOW_TARGETS: '127.0.0.1', DRAIN_TIMEOUT_MS: '300' };
  const relay = await spawnRole('relay', env);
  const svc = await split({ routers: 1, relays: 0, prefix });
  try {
    await until(async () => (await svc.routers[0].store.liveRelays()).length === 1);
    await create(svc.routers[0].base, { target: up.url });
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    await up.closedCount(1);
    expect(up.closes[0].code).toBe(1001);
  } finally {
    await relay.kill('SIGKILL');
    await svc.close();
    await up.close();
  }
});
