/**
 * A relay that dies holding a token's sockets must not leak the token's quota: once its
 * heartbeat expires, the slots are reclaimed.
 */
import { mintToken } from '../../router/token';
import { spawnRole } from '../harness/processes';
import { REDIS_URL, split, uniquePrefix } from '../helpers/services';
import { until } from '../harness/until';
import { startUpstream } from '../helpers/upstream';
import { create } from '../helpers/wire';

const SECRET = 'crash-test-secret-0123456789abcdef0123456789abcdef';

test("kill -9 a relay holding a token's sockets: after its heartbeat expires the token opens as many again", async () => {
  const up = await startUpstream();
  const prefix = uniquePrefix('crash');
  const env = {
    REDIS_URL,
    STORE_PREFIX: prefix,
    HEARTBEAT_MS: '100',
    RELAY_TTL_MS: '400',
    AUTH: 'token',
    TOKEN_SECRET: SECRET,
    ALLOW_TARGETS: '127.0.0.1',
  };
  const doomed = await spawnRole('relay', { ...env, RELAY_ID: 'doomed' });
  const svc = await split({ routers: 1, relays: 0, prefix, env: { AUTH: 'token', TOKEN_SECRET: SECRET } });
  try {
    const t = mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], allowNoOrigin: true, maxSockets: 2 });
    await create(svc.routers[0].base, { target: up.url, token: t });
    await create(svc.routers[0].base, { target: up.url, token: t });
    await expect(create(svc.routers[0].base, { target: up.url, token: t })).rejects.toMatchObject({ code: 'socket_limit' });

    await doomed.kill('SIGKILL');
    const { startRelay } = await import('../../bin/servers');
    const { testConfig, quiet } = await import('../helpers/services');
    const survivor = await startRelay(testConfig({ ...env, RELAY_ID: 'survivor' }, 'relay'), quiet, svc.routers[0].store);
    try {
      await until(async () => !(await svc.routers[0].store.liveRelays()).some((r) => r.id === 'doomed'), 5000, 'doomed relay expired');
      await create(svc.routers[0].base, { target: up.url, token: t });
      await create(svc.routers[0].base, { target: up.url, token: t });
      await expect(create(svc.routers[0].base, { target: up.url, token: t })).rejects.toMatchObject({ code: 'socket_limit' });
    } finally {
      // its server and admin port too: a port left listening holds the test process open
      await survivor.close();
    }
  } finally {
    await doomed.kill('SIGKILL');
    await svc.close();
    await up.close();
  }
});
