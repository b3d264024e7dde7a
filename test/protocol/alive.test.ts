/**
 * PROTOCOL.md § 2.1 Is the relay alive: GET /alive?run on a router, which a page asks when its
 * polls fail. Real router and relays over the real Redis; the dying relay is its own process,
 * killed with SIGKILL (no drain, no goodbye).
 */
import { until } from '../harness/until';
import { relayProcess, split, uniquePrefix, type Split } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, type Opened, poll, request } from '../helpers/wire';

let up: Upstream;
let svc: Split;
const prefix = uniquePrefix('alive');

beforeAll(async () => {
  up = await startUpstream();
  svc = await split({ routers: 1, relays: 1, prefix });
});
afterAll(async () => {
  await svc.close();
  await up.close();
});

const alive = (run: string | undefined, o: { wait?: number } = {}) => {
  const params = new URLSearchParams({ cb: 'cb' });
  if (run !== undefined) params.set('run', run);
  if (o.wait) params.set('wait', String(o.wait));
  return request(`${svc.routers[0].base}/alive?${params}`);
};

/** A relay process of its own, to be killed; and a socket placed on it. */
async function doomedRelay() {
  const proc = await relayProcess(prefix, `doomed-${Math.random().toString(36).slice(2, 8)}`);
  // Placement is least-loaded: take sockets until one lands on the new relay.
  let socket: Opened | undefined;
  for (let i = 0; i < 50 && !socket; i++) {
    const s = await create(svc.routers[0].base, { target: up.url });
    if (s.run !== svc.relays[0].relay!.run) socket = s;
  }
  if (!socket) throw new Error('no socket landed on the new relay');
  return { proc, socket };
}

test('a create names the relay run that holds the socket', async () => {
  const s = await create(svc.routers[0].base, { target: up.url });
  expect(s.run).toMatch(/^[A-Za-z0-9_-]{12}$/);
  expect(s.run).toBe(svc.relays[0].relay!.run);
});

test('a live relay run is answered alive', async () => {
  const s = await create(svc.routers[0].base, { target: up.url });
  const a = await alive(s.run);
  expect(a.status).toBe(200);
  expect(a.text).toMatch(/^\/\*\*\/cb\(/);
  expect(a.body).toEqual({ ok: true, alive: true });
});

test('a killed relay run is answered not alive once its registration lapsed', async () => {
  const { proc, socket } = await doomedRelay();
  try {
    expect((await alive(socket.run)).body).toEqual({ ok: true, alive: true });
    await proc.kill('SIGKILL');
    await expect(poll(socket, { ttl: 0 })).rejects.toThrow();
    await until(async () => (await alive(socket.run)).body.alive === false, 10_000, 'the killed run answered not alive');
    expect((await alive(socket.run)).body).toEqual({ ok: true, alive: false });
  } finally {
    await proc.kill('SIGKILL');
  }
});

test('a question that waits is answered not alive as soon as its run dies', async () => {
  const { proc, socket } = await doomedRelay();
  try {
    // the longest wait: only the run's death can answer `false`, a lapsed wait answers `true`
    const answer = alive(socket.run, { wait: 10_000 });
    await proc.kill('SIGKILL');
    expect((await answer).body).toEqual({ ok: true, alive: false });
  } finally {
    await proc.kill('SIGKILL');
  }
});

test('a question that waits on a live run is answered alive when its wait is over', async () => {
  const s = await create(svc.routers[0].base, { target: up.url });
  const started = Date.now();
  expect((await alive(s.run, { wait: 300 })).body).toEqual({ ok: true, alive: true });
  expect(Date.now() - started).toBeGreaterThanOrEqual(300);
});

test('a run nobody announced is not alive', async () => {
  expect((await alive('AAAAAAAAAAAA')).body).toEqual({ ok: true, alive: false });
});

test('a missing or malformed run is bad_parameter, through the callback', async () => {
  for (const run of [undefined, '', 'short', 'has spaces!!', 'A'.repeat(13)]) {
    const a = await alive(run);
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ ok: false, error: 'bad_parameter' });
  }
});

test('a wait beyond 10 s, or not a whole number, is bad_parameter', async () => {
  for (const wait of ['10001', '-1', '1.5', 'soon']) {
    const a = await request(`${svc.routers[0].base}/alive?cb=cb&run=AAAAAAAAAAAA&wait=${wait}`);
    expect(a.body).toMatchObject({ ok: false, error: 'bad_parameter' });
  }
});

test('/alive takes GET only', async () => {
  const a = await request(`${svc.routers[0].base}/alive?run=AAAAAAAAAAAA`, { method: 'POST', body: '' });
  expect(a.status).toBe(405);
  expect(a.body).toMatchObject({ ok: false, error: 'method_not_allowed' });
});

test('a wait past 10000 ms or not a whole number is bad_parameter, through the callback', async () => {
  const s = await create(svc.routers[0].base, { target: up.url });
  for (const wait of ['10001', '-1', '1.5', 'soon']) {
    const a = await request(`${svc.routers[0].base}/alive?${new URLSearchParams({ cb: 'cb', run: s.run, wait })}`);
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ ok: false, error: 'bad_parameter' });
  }
});
