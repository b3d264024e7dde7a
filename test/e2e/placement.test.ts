/**
 * Placement: least-loaded live relay, evenly spread; a dead relay gets nothing.
 */
import net from 'node:net';
import { relayProcess, split, uniquePrefix } from '../helpers/services';
import { until } from '../harness/until';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, outcome } from '../helpers/wire';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

test('20 sockets spread over 2 relays evenly (±1)', async () => {
  const svc = await split({ routers: 2, relays: 2 });
  try {
    for (let i = 0; i < 20; i++) await create(svc.routers[i % 2].base, { target: up.url });
    const counts = svc.relays.map((r) => r.relay!.socketCount);
    expect(counts.reduce((a, b) => a + b)).toBe(20);
    expect(Math.abs(counts[0] - counts[1])).toBeLessThanOrEqual(1);
  } finally {
    await svc.close();
  }
});

test('with no relay alive, create answers no_relay at once', async () => {
  const svc = await split({ routers: 1, relays: 0 });
  try {
    await expect(create(svc.routers[0].base, { target: up.url })).rejects.toMatchObject({ code: 'no_relay' });
  } finally {
    await svc.close();
  }
});

test('a killed relay gets no new sockets once its heartbeat expired', async () => {
  const prefix = uniquePrefix('placement');
  const svc = await split({ routers: 1, relays: 1, prefix });
  const doomed = await relayProcess(prefix, 'doomed');
  try {
    await until(async () => (await svc.routers[0].store.liveRelays()).some((r) => r.id === 'doomed'));
    await doomed.kill('SIGKILL');
    await until(async () => !(await svc.routers[0].store.liveRelays()).some((r) => r.id === 'doomed'));
    for (let i = 0; i < 6; i++) await create(svc.routers[0].base, { target: up.url });
    expect(svc.relays[0].relay!.socketCount).toBe(6);
  } finally {
    await doomed.kill('SIGKILL');
    await svc.close();
  }
});

test('a relay counts upstream handshakes in progress as load, so a slow relay does not look emptiest', async () => {
  // a target that takes the TCP connection and never answers the WebSocket handshake
  const held: net.Socket[] = [];
  const silent = net.createServer((c) => held.push(c));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const target = `ws://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`;
  const svc = await split({ routers: 1, relays: 1, env: { UPSTREAM_CONNECT_TIMEOUT_MS: '20000', CREATE_TIMEOUT_MS: '30000' } });
  const relay = svc.relays[0].relay!;
  try {
    const pending = outcome(create(svc.routers[0].base, { target }));
    await until(() => relay.info().sockets === 1, 10_000, 'the handshake counted');
    expect(relay.socketCount).toBe(0);
    await until(async () => (await svc.routers[0].store.liveRelays())[0]?.sockets === 1, 10_000, 'the count announced');
    // the target hangs up: the handshake fails, and the relay's load is what it holds again
    for (const c of held) c.destroy();
    expect(await pending).toBe('upstream_unreachable');
    expect(relay.info().sockets).toBe(0);
  } finally {
    silent.close();
    await svc.close();
  }
});
