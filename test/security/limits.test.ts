/**
 * Bounded everything: sockets per token (across routers, in Redis), creates per IP and per
 * token, creates in progress per router, sockets per relay.
 */
import net from 'node:net';
import { mintToken } from '../../router/token';
import { allInOne, split } from '../helpers/services';
import { clearOfWindowEdge, until } from '../harness/until';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, sendGet } from '../helpers/wire';

const SECRET = 'limits-test-secret-0123456789abcdef0123456789abcdef';
const ORIGIN = { Origin: 'http://app.example' };
const token = (o: { maxSockets?: number } = {}) =>
  mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], origins: ['http://app.example'], ...o });
const outcome = (base: string, target: string, t: string) =>
  create(base, { target, token: t }, ORIGIN).then(
    () => 'accepted',
    (e: { code: string }) => e.code,
  );

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

test('max_sockets holds across two routers, and a closed socket gives its slot back', async () => {
  const svc = await split({ routers: 2, relays: 2, env: { AUTH: 'token', TOKEN_SECRET: SECRET } });
  try {
    const t = token({ maxSockets: 3 });
    const opened = [];
    for (let i = 0; i < 3; i++) opened.push(await create(svc.routers[i % 2].base, { target: up.url, token: t }, ORIGIN));
    expect(await outcome(svc.routers[1].base, up.url, t)).toBe('socket_limit');
    expect(await outcome(svc.routers[0].base, up.url, t)).toBe('socket_limit');
    const closedBefore = up.closes.length;
    await sendGet(opened[0], { t: 'c', code: 1000, n: 1 }, ORIGIN);
    await up.closedCount(closedBefore + 1);
    await until(async () => (await outcome(svc.routers[1].base, up.url, t)) === 'accepted', 5000, 'slot given back');
    // another token is counted on its own
    expect(await outcome(svc.routers[0].base, up.url, token({ maxSockets: 1 }))).toBe('accepted');
  } finally {
    await svc.close();
  }
});

test('creates per minute per IP are limited', async () => {
  await clearOfWindowEdge();
  const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, CREATES_PER_MINUTE_PER_IP: '3' });
  try {
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await outcome(svc.base, up.url, token()));
    expect(results).toEqual(['accepted', 'accepted', 'accepted', 'rate_limited']);
  } finally {
    await svc.close();
  }
});

test('creates per minute per token are limited', async () => {
  await clearOfWindowEdge();
  const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, CREATES_PER_MINUTE_PER_TOKEN: '2' });
  try {
    const t = token();
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await outcome(svc.base, up.url, t));
    results.push(await outcome(svc.base, up.url, token({ maxSockets: 5 })));
    expect(results).toEqual(['accepted', 'accepted', 'rate_limited', 'accepted']);
  } finally {
    await svc.close();
  }
});

test('creates in progress are bounded per router (MAX_PENDING_CREATES)', async () => {
  // accepts TCP, never answers the WebSocket handshake: the first create stays in progress
  const connections: net.Socket[] = [];
  const blackhole = net.createServer((s) => connections.push(s));
  await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
  const target = `ws://127.0.0.1:${(blackhole.address() as net.AddressInfo).port}/`;
  const svc = await allInOne({ MAX_PENDING_CREATES: '1', UPSTREAM_CONNECT_TIMEOUT_MS: '3000' });
  try {
    const first = create(svc.base, { target }).catch((e: { code: string }) => e.code);
    await until(() => connections.length === 1);
    await expect(create(svc.base, { target: up.url })).rejects.toMatchObject({ code: 'too_many_pending' });
    connections[0].destroy();
    expect(await first).toBe('upstream_unreachable');
    await expect(create(svc.base, { target: up.url })).resolves.toMatchObject({ ok: true });
  } finally {
    await svc.close();
    blackhole.close();
  }
});

test('a full relay takes no more sockets (MAX_SOCKETS)', async () => {
  const svc = await allInOne({ MAX_SOCKETS: '2' });
  try {
    await create(svc.base, { target: up.url });
    await create(svc.base, { target: up.url });
    await expect(create(svc.base, { target: up.url })).rejects.toMatchObject({ code: 'no_relay' });
  } finally {
    await svc.close();
  }
});

test('over-long tokens are refused before any work', async () => {
  const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET });
  try {
    expect(await outcome(svc.base, up.url, 'x'.repeat(5000))).toBe('token_invalid');
  } finally {
    await svc.close();
  }
});
