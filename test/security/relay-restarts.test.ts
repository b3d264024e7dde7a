/**
 * Security round 2, faults an attacker can wait for: a relay restarted under the same id, and
 * Redis dying while creates are in flight. Neither may leak quota or upstream connections.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { mintToken } from '../../router/token';
import { spawnRole } from '../harness/processes';
import { ownRedis } from '../harness/redis';
import { until } from '../harness/until';
import { REDIS_URL, split, uniquePrefix } from '../helpers/services';
import { startUpstream } from '../helpers/upstream';
import { create, request } from '../helpers/wire';

const SECRET = 'relay-restarts-secret-0123456789abcdef0123456789';

test("a relay killed and restarted under the same RELAY_ID gives its old run's token slots back within RELAY_TTL_MS", async () => {
  const up = await startUpstream();
  const prefix = uniquePrefix('restart');
  const env = { REDIS_URL, STORE_PREFIX: prefix, HEARTBEAT_MS: '100', RELAY_TTL_MS: '400', ALLOW_TARGETS: '127.0.0.1', RELAY_ID: 'stable' };
  let relay = await spawnRole('relay', env);
  const svc = await split({ routers: 1, relays: 0, prefix, env: { AUTH: 'token', TOKEN_SECRET: SECRET } });
  try {
    const token = mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], allowNoOrigin: true, maxSockets: 1 });
    await create(svc.routers[0].base, { target: up.url, token });
    await expect(create(svc.routers[0].base, { target: up.url, token })).rejects.toMatchObject({ code: 'socket_limit' });
    await relay.kill('SIGKILL');
    relay = await spawnRole('relay', env); // same id, back at once
    await until(
      () =>
        create(svc.routers[0].base, { target: up.url, token }).then(
          () => true,
          () => false,
        ),
      10_000,
      'the slot of the killed run given back',
    );
  } finally {
    await relay.kill('SIGKILL');
    await svc.close();
    await up.close();
  }
});

test('creates in flight when Redis dies answer store_unavailable at once, and the upstream opened for them is closed', async () => {
  const redis = await ownRedis();
  // an upstream whose handshake waits until the test lets it through
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const server = http.createServer();
  const wss = new WebSocketServer({
    server,
    verifyClient: (_info, done) => {
      void held.then(() => done(true));
    },
  });
  const closed: number[] = [];
  wss.on('connection', (ws) => {
    ws.on('close', (code) => closed.push(code));
    ws.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const target = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const svc = await split({
    routers: 1,
    relays: 1,
    env: { REDIS_URL: redis.url, CREATE_TIMEOUT_MS: '120000', IDLE_TIMEOUT_MS: '120000', UPSTREAM_CONNECT_TIMEOUT_MS: '120000' },
  });
  try {
    const answer = request(`${svc.routers[0].base}/create?cb=cb&target=${encodeURIComponent(target)}`);
    await until(
      async () => (await new Promise<number>((r) => server.getConnections((_e, n) => r(n)))) >= 1,
      10_000,
      'the upstream handshake started',
    );
    await redis.kill();
    // long before CREATE_TIMEOUT_MS (120 s; the test's own bound is 30 s)
    expect((await answer).body).toMatchObject({ ok: false, error: 'store_unavailable' });
    release();
    await until(() => closed.length === 1, 20_000, 'the unanswered upstream closed');
  } finally {
    release();
    await svc.close();
    await redis.kill();
    await new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.close(() => r());
      server.closeAllConnections();
    });
  }
}, 30_000);
