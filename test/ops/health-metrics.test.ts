/**
 * /healthz, /readyz and /metrics on every role; metrics move when traffic flows.
 */
import { freePort } from '../harness/processes';
import { allInOne, split } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { collect, create, request, sendGet } from '../helpers/wire';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

/** The value of one sample line of a Prometheus text page (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      (m[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('='))
        .map(([k, v]) => [k, v.replace(/"/g, '')]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

test('every role answers /healthz and /readyz when ready', async () => {
  const svc = await split({ routers: 1, relays: 1 });
  const aio = await allInOne();
  try {
    for (const port of [svc.routers[0].adminPort, svc.relays[0].adminPort, aio.adminPort]) {
      expect((await request(`http://localhost:${port}/healthz`)).body).toEqual({ ok: true });
      const ready = await request(`http://localhost:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ ok: true });
    }
  } finally {
    await svc.close();
    await aio.close();
  }
});

test('a draining relay is not ready', async () => {
  const aio = await allInOne({ DRAIN_TIMEOUT_MS: '2000' });
  try {
    await create(aio.base, { target: up.url });
    const drained = aio.relay!.drain();
    const ready = await request(`${aio.admin}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ok: false, error: 'not_ready', reasons: expect.arrayContaining(['relay draining']) });
    await drained;
  } finally {
    await aio.close();
  }
});

test('metrics move when traffic flows', async () => {
  const aio = await allInOne();
  try {
    const before = (await request(`${aio.admin}/metrics`)).text;
    const s = await create(aio.base, { target: up.url });
    // a port nothing listens on (and not one browsers block)
    await create(aio.base, { target: `ws://127.0.0.1:${await freePort()}/` }).catch(() => undefined);
    await sendGet(s, { d: 'hello', n: 1 });
    await collect(s, 1);
    const after = (await request(`${aio.admin}/metrics`)).text;

    expect(
      sample(after, 'polysocket_creates_total', { outcome: 'ok' }) - sample(before, 'polysocket_creates_total', { outcome: 'ok' }),
    ).toBe(1);
    expect(sample(after, 'polysocket_creates_total', { outcome: 'upstream_unreachable' })).toBe(1);
    expect(sample(after, 'polysocket_sockets_open')).toBe(sample(before, 'polysocket_sockets_open') + 1);
    expect(sample(after, 'polysocket_messages_total', { direction: 'to_upstream' })).toBe(1);
    expect(sample(after, 'polysocket_messages_total', { direction: 'to_client' })).toBe(1);
    expect(sample(after, 'polysocket_bytes_total', { direction: 'to_client' })).toBe(5);
    expect(sample(after, 'polysocket_polls_total', { answer: 'messages' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'polysocket_upstream_connect_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds\{role="all"\} \d/m);
    expect(after).toContain('polysocket_buffered_bytes');
    expect(after).toContain('polysocket_polls_waiting');
  } finally {
    await aio.close();
  }
});

test('a router with no live relay is not ready, and says why; /healthz stays about the process', async () => {
  const svc = await split({ routers: 1, relays: 0 });
  try {
    const ready = await request(`${svc.routers[0].admin}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ok: false, error: 'not_ready', reasons: ['no live relay can take sockets'] });
    expect((await request(`${svc.routers[0].admin}/healthz`)).body).toEqual({ ok: true });
  } finally {
    await svc.close();
  }
});

test('the public port listens with LISTEN_BACKLOG as its queue (as the kernel reports it)', async () => {
  const aio = await allInOne({ LISTEN_BACKLOG: '777' });
  try {
    const { execFileSync } = await import('node:child_process');
    const line = execFileSync('ss', ['-Hltn', `sport = :${aio.port}`], { encoding: 'utf8' }).trim();
    // State Recv-Q Send-Q Local:Port Peer: for a listener, Send-Q is the backlog
    expect(line.split(/\s+/)[2]).toBe('777');
  } finally {
    await aio.close();
  }
});
