/**
 * PROTOCOL.md §3.4 streamed receive: GET /j/<socket>?stream=1 — prelude, one line per batch,
 * the seq/ack rules of §3.1 across streams, the ends (bound, lifetime, close, a newer receiver).
 */
import http from 'node:http';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { until } from '../harness/until';
import { collect, create, poll, qs, request, sendGet, type Opened } from '../helpers/wire';

let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;

beforeAll(async () => {
  up = await startUpstream();
  svc = await allInOne({ POLL_MAX_TTL_MS: '3000', IDLE_TIMEOUT_MS: '4000' });
});
afterAll(async () => {
  await svc.close();
  await up.close();
});

interface Stream {
  status: Promise<number>;
  headers: Promise<http.IncomingHttpHeaders>;
  /** every line so far, the prelude included */
  lines: string[];
  /** the messages of every line after the prelude, in order */
  messages(): any[];
  /** resolves once the relay ended the answer */
  ended: Promise<void>;
  abort(): void;
}

function openStream(s: Opened, params: Record<string, string | number | undefined> = {}): Stream {
  const u = new URL(`${s.url}/j/${s.socket}?${qs({ stream: 1, ...params })}`);
  const lines: string[] = [];
  let text = '';
  let resolveStatus!: (n: number) => void;
  let resolveHeaders!: (h: http.IncomingHttpHeaders) => void;
  let resolveEnded!: () => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const headers = new Promise<http.IncomingHttpHeaders>((r) => (resolveHeaders = r));
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const req = http.get(
    { host: '127.0.0.1', port: u.port, path: u.pathname + u.search, headers: { Host: u.host, Origin: 'http://page.test' }, agent: false },
    (res) => {
      resolveStatus(res.statusCode ?? 0);
      resolveHeaders(res.headers);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        let nl = text.indexOf('\n');
        while (nl >= 0) {
          lines.push(text.slice(0, nl));
          text = text.slice(nl + 1);
          nl = text.indexOf('\n');
        }
      });
      res.on('end', () => resolveEnded());
      res.on('error', () => resolveEnded());
    },
  );
  req.on('error', () => resolveEnded());
  return {
    status,
    headers,
    lines,
    messages: () => lines.slice(1).flatMap((l) => JSON.parse(l).messages),
    ended,
    abort: () => req.destroy(),
  };
}

const data = (stream: Stream) => stream.messages().filter((m) => m.type !== 'heartbeat');

test('a stream answers 200 text/plain, unknown length, a 2 KB prelude line, then one JSON line per batch as messages come', async () => {
  const s = await create(svc.base, { target: up.url });
  const stream = openStream(s, { ack: 0 });
  expect(await stream.status).toBe(200);
  const h = await stream.headers;
  expect(h['content-type']).toBe('text/plain; charset=utf-8');
  expect(h['cache-control']).toContain('no-store');
  expect(h['x-accel-buffering']).toBe('no');
  expect(h['content-length']).toBeUndefined();
  expect(h['access-control-allow-origin']).toBe('http://page.test');
  await until(() => stream.lines.length >= 1, 10_000, 'the prelude');
  expect(stream.lines[0]).toMatch(/^\s{2048}$/);
  await sendGet(s, { d: 'push:2', n: 1 });
  await until(() => data(stream).length >= 2, 10_000, 'the pushed messages');
  await sendGet(s, { d: 'one more', n: 2 });
  await until(() => data(stream).length >= 3, 10_000, 'the echo');
  expect(data(stream)).toEqual([
    { type: 'text', seq: 1, data: 'p1' },
    { type: 'text', seq: 2, data: 'p2' },
    { type: 'text', seq: 3, data: 'one more' },
  ]);
  for (const line of stream.lines.slice(1)) expect(JSON.parse(line)).toMatchObject({ ok: true });
  expect(svc.relay!.get(s.socket)!.streaming).toBe(true);
  stream.abort();
});

test('an aborted stream loses nothing: the next stream with the old ack re-sends from ack+1, then continues', async () => {
  const s = await create(svc.base, { target: up.url });
  const first = openStream(s, { ack: 0 });
  await sendGet(s, { d: 'push:3', n: 1 });
  await until(() => data(first).length >= 3, 10_000, 'three messages');
  first.abort();
  // the client had only seq 1 for sure: it acks 1, the rest comes again
  const second = openStream(s, { ack: 1 });
  await until(() => data(second).length >= 2, 10_000, 'the re-sent messages');
  await sendGet(s, { d: 'later', n: 2 });
  await until(() => data(second).length >= 3, 10_000, 'the next message');
  expect(data(second).map((m) => m.seq)).toEqual([2, 3, 4]);
  expect(data(second)[2]).toEqual({ type: 'text', seq: 4, data: 'later' });
  second.abort();
});

test('a new stream ends the open one; a poll ends it too, and a stream ends a waiting poll (one receiver at a time)', async () => {
  const s = await create(svc.base, { target: up.url });
  const session = svc.relay!.get(s.socket)!;
  const first = openStream(s, { ack: 0 });
  await until(() => session.streaming, 10_000, 'the first stream');
  const second = openStream(s, { ack: 0 });
  await first.ended;
  const polled = poll(s, { ack: 0, ttl: 5000, cb: undefined });
  await second.ended;
  await until(() => session.polling, 10_000, 'the poll held');
  const third = openStream(s, { ack: 0 });
  expect((await polled).body).toEqual({ ok: true, messages: [] });
  await sendGet(s, { d: 'to the third', n: 1 });
  await until(() => data(third).length >= 1, 10_000, 'the message on the third');
  expect(data(first)).toEqual([]);
  expect(data(second)).toEqual([]);
  third.abort();
});

test('the close message is delivered, then the stream ends; acking it forgets the socket', async () => {
  const own = await startUpstream();
  const s = await create(svc.base, { target: own.url });
  const stream = openStream(s, { ack: 0 });
  await until(() => stream.lines.length >= 1, 10_000, 'the prelude');
  await sendGet(s, { d: 'bye', n: 1 });
  await sendGet(s, { d: 'close:4000:done', n: 2 });
  await stream.ended;
  expect(data(stream)).toEqual([
    { type: 'text', seq: 1, data: 'bye' },
    { type: 'close', seq: 2, code: 4000, reason: 'done' },
  ]);
  expect((await poll(s, { ack: 2, ttl: 0 })).body).toMatchObject({ ok: false, error: 'unknown_socket' });
  await own.close();
});

test('a stream ends at its lifetime (the poll cap), with heartbeats every ttl before', async () => {
  const s = await create(svc.base, { target: up.url });
  const stream = openStream(s, { ack: 0, ttl: 200 });
  await stream.ended; // POLL_MAX_TTL_MS is 3000 here
  const beats = stream.messages().filter((m) => m.type === 'heartbeat').length;
  expect(beats).toBeGreaterThanOrEqual(3);
  expect(data(stream)).toEqual([]);
  // the socket lives on: the next receiver gets what comes
  await sendGet(s, { d: 'after', n: 1 });
  expect((await collect(s, 1)).messages).toEqual([{ type: 'text', seq: 1, data: 'after' }]);
});

describe('the unacked bytes bound', () => {
  let small: Awaited<ReturnType<typeof allInOne>>;
  beforeAll(async () => {
    small = await allInOne({ MAX_BUFFERED_BYTES: '16384', POLL_MAX_TTL_MS: '20000' });
  });
  afterAll(() => small.close());

  test('a stream that wrote more than a quarter of MAX_BUFFERED_BYTES ends; the next, acking, gets the rest, nothing twice', async () => {
    const s = await create(small.base, { target: up.url });
    const session = small.relay!.get(s.socket)!;
    // ~17 KB of messages over a second or so (one upstream read could carry them all at once): the
    // stream writes them batch by batch, and ends once past 4 KB
    const count = 400;
    let ack = 0;
    const got: number[] = [];
    await sendGet(s, { d: `drip:${count}:2`, n: 1 });
    let streams = 0;
    for (; ack < count && streams < 50; streams++) {
      const stream = openStream(s, { ack });
      const start = ack;
      let over = false;
      void stream.ended.then(() => (over = true));
      // the last stream stays open (nothing more comes): it is let go once everything arrived
      await until(() => over || data(stream).length === count - start, 20_000, 'a stream ended or everything arrived');
      stream.abort();
      for (const m of data(stream)) {
        expect(m.seq).toBe(ack + 1);
        ack = m.seq;
        got.push(m.seq);
      }
    }
    expect(got.length).toBe(count);
    // each stream but the last ended at the bound, with everything it wrote unacked: more than one was needed
    expect(streams).toBeGreaterThanOrEqual(2);
    expect((await poll(s, { ack, ttl: 0 })).body.messages).toEqual([{ type: 'heartbeat' }]);
    expect(session.outbox.bufferedBytes).toBe(0);
  });
});

test('stream=1 with a JSONP cb is an error to the callback: stream_not_jsonp', async () => {
  const s = await create(svc.base, { target: up.url });
  const a = await request(`${s.url}/j/${s.socket}?${qs({ stream: 1, cb: 'cb.x', ack: 0 })}`);
  expect(a.status).toBe(200);
  expect(a.text.startsWith('/**/cb.x(')).toBe(true);
  expect(a.body).toMatchObject({ ok: false, error: 'stream_not_jsonp' });
  expect(svc.relay!.get(s.socket)!.streaming).toBe(false);
});

test.each([
  [{ stream: 'yes' }, 'bad_parameter'],
  [{ stream: 1, ack: 99 }, 'bad_ack'],
])('a bad stream request %j is a whole JSON answer: %s', async (params, code) => {
  const s = await create(svc.base, { target: up.url });
  const a = await request(`${s.url}/j/${s.socket}?${qs(params)}`);
  expect(a.status).toBe(400);
  expect(a.body).toMatchObject({ ok: false, error: code });
});

test('an unknown socket answers unknown_socket to a stream, as JSON', async () => {
  const a = await request(`${svc.base.replace('localhost', '127.0.0.1')}/j/${'A'.repeat(24)}?stream=1`);
  expect(a.status).toBe(403);
  expect(a.body).toMatchObject({ ok: false, error: 'unknown_socket' });
});
