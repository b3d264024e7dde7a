/**
 * PROTOCOL.md § Poll: GET /j/<socket> — seq, ack, heartbeats, one poll at a time, bounds.
 */
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { until } from '../harness/until';
import { collect, create, poll, sendGet, type Opened } from '../helpers/wire';

let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;

beforeAll(async () => {
  up = await startUpstream();
  svc = await allInOne({ POLL_MAX_TTL_MS: '300', IDLE_TIMEOUT_MS: '400', MAX_BUFFERED_BYTES: '4096' });
});
afterAll(async () => {
  await svc.close();
  await up.close();
});

async function openWithPushed(n: number): Promise<Opened> {
  const s = await create(svc.base, { target: up.url });
  await sendGet(s, { d: `push:${n}`, n: 1 });
  const { messages } = await collect(s, n, { ack: 0 });
  expect(messages).toHaveLength(n);
  return s;
}

test('messages waiting are answered at once, numbered by seq from 1', async () => {
  const s = await create(svc.base, { target: up.url });
  await sendGet(s, { d: 'push:3', n: 1 });
  const { messages } = await collect(s, 3);
  expect(messages).toEqual([
    { type: 'text', seq: 1, data: 'p1' },
    { type: 'text', seq: 2, data: 'p2' },
    { type: 'text', seq: 3, data: 'p3' },
  ]);
});

test('an upstream that speaks first loses nothing: what it sends with its 101 is seq 1, 2, ...', async () => {
  const greeter = await startUpstream({ greeting: ['hello', 'again'] });
  try {
    const s = await create(svc.base, { target: greeter.url });
    const { messages } = await collect(s, 2, { ack: 0, maxPolls: 5 });
    expect(messages).toEqual([
      { type: 'text', seq: 1, data: 'hello' },
      { type: 'text', seq: 2, data: 'again' },
    ]);
  } finally {
    await greeter.close();
  }
});

test('a poll with nothing waiting is answered with a heartbeat at ttl', async () => {
  const s = await create(svc.base, { target: up.url });
  const a = await poll(s, { ttl: 50 });
  expect(a.body).toEqual({ ok: true, messages: [{ type: 'heartbeat' }] });
});

test('ttl is capped by the server maximum', async () => {
  const s = await create(svc.base, { target: up.url });
  const a = await poll(s, { ttl: 3_600_000 }); // POLL_MAX_TTL_MS is 300 here: a heartbeat comes back
  expect(a.body).toEqual({ ok: true, messages: [{ type: 'heartbeat' }] });
});

test('a lost poll answer loses nothing: polling again with the old ack returns the same messages', async () => {
  const s = await openWithPushed(2);
  const again = await poll(s, { ack: 0, ttl: 0 });
  expect(again.body.messages.map((m: { data: string }) => m.data)).toEqual(['p1', 'p2']);
});

test('ack drops what the client has; later messages continue the seq', async () => {
  const s = await openWithPushed(2);
  await sendGet(s, { d: 'push:1', n: 2 });
  const a = await poll(s, { ack: 2, ttl: 2000 });
  expect(a.body.messages).toEqual([{ type: 'text', seq: 3, data: 'p1' }]);
});

test('a seed client without ack: each poll acks what the previous one delivered', async () => {
  const s = await create(svc.base, { target: up.url });
  const session = svc.relay!.get(s.socket)!;
  await sendGet(s, { d: 'push:2' });
  await until(() => session.outbox.lastSeq === 2);
  expect((await poll(s, { ttl: 0 })).body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
  await sendGet(s, { d: 'push:1' });
  await until(() => session.outbox.lastSeq === 3);
  expect((await poll(s, { ttl: 0 })).body.messages).toEqual([{ type: 'text', seq: 3, data: 'p1' }]);
});

test('a new poll answers the previous one at once, empty', async () => {
  const s = await create(svc.base, { target: up.url });
  const first = poll(s, { ttl: 10_000 });
  await until(() => svc.relay!.get(s.socket)!.polling);
  const second = poll(s, { ttl: 50 });
  expect((await first).body).toEqual({ ok: true, messages: [] });
  expect((await second).body).toEqual({ ok: true, messages: [{ type: 'heartbeat' }] });
});

test.each([
  ['ttl', { ttl: 'soon' }, 'bad_ttl'],
  ['ttl', { ttl: '-5' }, 'bad_ttl'],
  ['ack', { ack: 'x' }, 'bad_ack'],
  ['ack', { ack: 99 }, 'bad_ack'],
])('bad %s %j answers %s', async (_name, params, code) => {
  const s = await create(svc.base, { target: up.url });
  const a = await poll(s, params);
  expect(a.status).toBe(200);
  expect(a.body).toMatchObject({ ok: false, error: code });
});

test('an unknown socket answers unknown_socket (403 without cb)', async () => {
  const s = await create(svc.base, { target: up.url });
  const ghost = { ...s, socket: 'A'.repeat(24) };
  expect((await poll(ghost, { ttl: 0 })).body).toMatchObject({ ok: false, error: 'unknown_socket' });
  const plain = await poll(ghost, { cb: undefined, ttl: 0 });
  expect(plain.status).toBe(403);
});

test('a client that stops polling: the socket is closed, its upstream gets 1001', async () => {
  const own = await startUpstream();
  const s = await create(svc.base, { target: own.url });
  await poll(s, { ttl: 0 });
  await own.closedCount(1); // IDLE_TIMEOUT_MS is 400 here
  expect(own.closes[0]).toEqual({ code: 1001, reason: 'client stopped polling' });
  expect((await poll(s, { ttl: 0 })).body).toMatchObject({ ok: false, error: 'unknown_socket' });
  await own.close();
});

test('a fast upstream is paused, not dropped: a backlog far past the bound still arrives whole', async () => {
  const own = await startUpstream();
  // a bound well above one socket read (64 KB), as in production (1 MiB)
  const roomy = await allInOne({ MAX_BUFFERED_BYTES: '262144' });
  const s = await create(roomy.base, { target: own.url });
  await sendGet(s, { d: 'push:20000', n: 1 }); // ~700 KB of poll answers against a 256 KB bound
  const { messages } = await collect(s, 20000, { maxPolls: 20000 });
  expect(messages.length).toBe(20000);
  expect(messages.every((m, i) => m.data === `p${i + 1}`)).toBe(true);
  expect(own.closes).toEqual([]);
  await roomy.close();
  await own.close();
});

test('past the unacked-bytes bound the socket closes with 1009, never dropping silently', async () => {
  const own = await startUpstream();
  const s = await create(svc.base, { target: own.url });
  await sendGet(s, { d: 'push:3', n: 1 });
  await sendGet(s, { d: 'big:5000', n: 2 }); // one frame past the 4 KB bound
  await own.closedCount(1);
  expect(own.closes[0]).toEqual({ code: 1009, reason: 'client is not keeping up' });
  const a = await poll(s, { ack: 0, ttl: 0 });
  // what was taken is delivered, then the close that says why
  expect(a.body.messages).toEqual([
    { type: 'text', seq: 1, data: 'p1' },
    { type: 'text', seq: 2, data: 'p2' },
    { type: 'text', seq: 3, data: 'p3' },
    { type: 'close', seq: 4, code: 1009, reason: 'client is not keeping up' },
  ]);
  await own.close();
});

describe('the idle timeout runs only while no poll waits', () => {
  let long: Awaited<ReturnType<typeof allInOne>>;
  beforeAll(async () => {
    long = await allInOne({ POLL_MAX_TTL_MS: '900', IDLE_TIMEOUT_MS: '400' });
  });
  afterAll(() => long.close());

  test('polls held longer than the idle timeout keep the socket open', async () => {
    const own = await startUpstream();
    const s = await create(long.base, { target: own.url });
    for (let i = 0; i < 2; i++) expect((await poll(s, { ttl: 900 })).body).toEqual({ ok: true, messages: [{ type: 'heartbeat' }] });
    await sendGet(s, { d: 'still here', n: 1 });
    expect((await collect(s, 1, { ack: 0 })).messages).toEqual([{ type: 'text', seq: 1, data: 'still here' }]);
    expect(own.closes).toEqual([]);
    await own.close();
  });

  test('short polls in a row keep it open across many idle periods; stopping closes it', async () => {
    const own = await startUpstream();
    const s = await create(long.base, { target: own.url });
    const started = Date.now();
    for (let i = 0; i < 60 && Date.now() - started < 1500; i++) expect((await poll(s, { ttl: 50 })).body.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500); // more than three idle periods
    expect(own.closes).toEqual([]);
    await own.closedCount(1);
    expect(own.closes[0]).toEqual({ code: 1001, reason: 'client stopped polling' });
    await own.close();
  });
});
