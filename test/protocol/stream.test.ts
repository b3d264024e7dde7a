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
  // each line says the last send taken, where that changed: the echo's line knows its send was taken
  const echoLine = stream.lines.find((l) => l.includes('one more'))!;
  expect(JSON.parse(echoLine).n).toBe(2);
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

/** the lines asking for the next stream */
const renewals = (stream: Stream) => stream.lines.slice(1).filter((l) => JSON.parse(l).renew === true);

test('at its lifetime (the poll cap) a stream asks to be renewed, goes on for a grace time, then ends; heartbeats every ttl', async () => {
  const s = await create(svc.base, { target: up.url });
  const stream = openStream(s, { ack: 0, ttl: 200 });
  await until(() => renewals(stream).length === 1, 10_000, 'the renewal'); // POLL_MAX_TTL_MS is 3000 here
  expect(JSON.parse(renewals(stream)[0])).toEqual({ ok: true, messages: [], renew: true });
  // still writing while it waits for the next stream
  await sendGet(s, { d: 'during the grace', n: 1 });
  await until(() => data(stream).length === 1, 10_000, 'a message after the renewal');
  await stream.ended; // the grace is the poll cap here, under 5 s
  expect(stream.messages().filter((m) => m.type === 'heartbeat').length).toBeGreaterThanOrEqual(3);
  expect(data(stream)).toEqual([{ type: 'text', seq: 1, data: 'during the grace' }]);
  // the socket lives on: the next receiver gets what comes
  await sendGet(s, { d: 'after', n: 2 });
  expect((await collect(s, 1, { ack: 1 })).messages).toEqual([{ type: 'text', seq: 2, data: 'after' }]);
});

describe('the unacked bytes bound', () => {
  let small: Awaited<ReturnType<typeof allInOne>>;
  beforeAll(async () => {
    small = await allInOne({ MAX_BUFFERED_BYTES: '16384', POLL_MAX_TTL_MS: '20000' });
  });
  afterAll(() => small.close());

  test('past a quarter of MAX_BUFFERED_BYTES written a stream asks to be renewed; the next, acking, ends it, gets the rest', async () => {
    const s = await create(small.base, { target: up.url });
    const session = small.relay!.get(s.socket)!;
    // ~17 KB of messages over a second or so (one upstream read could carry them all at once): the
    // stream writes them batch by batch, and asks for its renewal once past 4 KB
    const count = 400;
    await sendGet(s, { d: `drip:${count}:2`, n: 1 });
    // a client as polysocket.js is: on a renewal, the next stream, acking what it has
    const seen = new Set<number>();
    let ack = 0;
    let stream = openStream(s, { ack });
    let renewed = 0;
    while (seen.size < count && renewed < 50) {
      const current = stream;
      await until(
        () => renewals(current).length === 1 || new Set([...seen, ...data(current).map((m) => m.seq)]).size === count,
        20_000,
        'a renewal',
      );
      for (const m of data(current)) seen.add(m.seq);
      if (seen.size === count) break;
      const at = current.lines.findIndex((l) => l.includes('"renew":true'));
      expect(current.lines.slice(1, at).reduce((n, l) => n + Buffer.byteLength(l), 0)).toBeGreaterThan(4096);
      ack = data(current).at(-1).seq;
      stream = openStream(s, { ack });
      renewed++;
      // the next request ends the renewed stream; until then it wrote on (what it carried past the ack comes again)
      await current.ended;
      for (const m of data(current)) seen.add(m.seq);
      expect(data(stream)[0]?.seq ?? ack + 1).toBe(ack + 1);
    }
    stream.abort();
    expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: count }, (_v, i) => i + 1));
    expect(renewed).toBeGreaterThanOrEqual(2);
    expect((await poll(s, { ack: count, ttl: 0 })).body.messages).toEqual([{ type: 'heartbeat' }]);
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
