/**
 * PROTOCOL.md § Send: /s/<socket> — text, binary, n ordering, chunks, client close, bounds, CORS.
 */
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { until } from '../harness/until';
import { collect, create, poll, qs, request, sendGet, sendPost, type Opened } from '../helpers/wire';

let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;

beforeAll(async () => {
  svc = await allInOne({ MAX_MESSAGE_BYTES: '1000', MAX_CHUNKS: '4', MAX_BODY_BYTES: '4096', MAX_URL_BYTES: '2083' });
});
afterAll(() => svc.close());
beforeEach(async () => {
  up = await startUpstream({ echo: false });
});
afterEach(() => up.close());

const open = () => create(svc.base, { target: up.url });

test('a JSONP GET text send reaches the upstream and is acknowledged with its n', async () => {
  const s = await open();
  const a = await sendGet(s, { d: 'héllo ☃', t: 't', n: 1 });
  expect(a.status).toBe(200);
  expect(a.body).toEqual({ ok: true, n: 1 });
  await up.receivedCount(1);
  expect(up.received).toEqual(['héllo ☃']);
});

test('without cb a send answers 201', async () => {
  const s = await open();
  const a = await sendGet(s, { cb: undefined, d: 'x', n: 1 });
  expect(a.status).toBe(201);
  expect(a.body).toEqual({ ok: true, n: 1 });
});

test('t=b sends base64 as one binary frame', async () => {
  const s = await open();
  await sendGet(s, { d: Buffer.from([0, 1, 2, 255]).toString('base64'), t: 'b', n: 1 });
  await up.receivedCount(1);
  expect(up.received[0]).toEqual(Buffer.from([0, 1, 2, 255]));
});

test('POST form-encoded and text/plain bodies are both sends', async () => {
  const s = await open();
  expect((await sendPost(s, { d: 'form', t: 't', n: 1 })).status).toBe(201);
  expect((await sendPost(s, { d: 'plain', t: 't', n: 2 }, 'text/plain')).status).toBe(201);
  await up.receivedCount(2);
  expect(up.received).toEqual(['form', 'plain']);
});

test('a repeated n is acknowledged again and reaches the upstream once', async () => {
  const s = await open();
  await sendGet(s, { d: 'once', n: 1 });
  const again = await sendGet(s, { d: 'once', n: 1 });
  expect(again.body).toEqual({ ok: true, n: 1, duplicate: true });
  await sendGet(s, { d: 'two', n: 2 });
  await up.receivedCount(2);
  expect(up.received).toEqual(['once', 'two']);
});

test('an n ahead of the next expected one is refused and names the expected n', async () => {
  const s = await open();
  const a = await sendGet(s, { d: 'early', n: 2 });
  expect(a.body).toMatchObject({ ok: false, error: 'out_of_order', expected: 1 });
  await sendGet(s, { d: 'first', n: 1 });
  await sendGet(s, { d: 'second', n: 2 });
  await up.receivedCount(2);
  expect(up.received).toEqual(['first', 'second']);
});

test('a refused send does not consume its n', async () => {
  const s = await open();
  expect((await sendGet(s, { d: '!!!', t: 'b', n: 1 })).body).toMatchObject({ ok: false, error: 'bad_base64' });
  expect((await sendGet(s, { d: 'ok', n: 1 })).body).toEqual({ ok: true, n: 1 });
  await up.receivedCount(1);
  expect(up.received).toEqual(['ok']);
});

test('text chunks (c=1 on all but the last) join into one upstream frame', async () => {
  const s = await open();
  await sendGet(s, { d: 'ab', c: 1, n: 1 });
  await sendGet(s, { d: 'cd', c: 1, n: 2 });
  await sendGet(s, { d: 'ef', n: 3 });
  await up.receivedCount(1);
  expect(up.received).toEqual(['abcdef']);
});

test('binary chunks are each valid base64 and their bytes are joined', async () => {
  const s = await open();
  await sendGet(s, { d: Buffer.from([1, 2]).toString('base64'), t: 'b', c: 1, n: 1 });
  await sendGet(s, { d: Buffer.from([3]).toString('base64'), t: 'b', n: 2 });
  await up.receivedCount(1);
  expect(up.received[0]).toEqual(Buffer.from([1, 2, 3]));
});

test('a chunk of another type than the first is refused', async () => {
  const s = await open();
  await sendGet(s, { d: 'ab', c: 1, n: 1 });
  expect((await sendGet(s, { d: 'AA==', t: 'b', n: 2 })).body).toMatchObject({ ok: false, error: 'chunk_type_mismatch' });
});

test('a continued send past MAX_CHUNKS is refused', async () => {
  const s = await open();
  for (let n = 1; n <= 3; n++) expect((await sendGet(s, { d: 'x', c: 1, n })).body.ok).toBe(true);
  expect((await sendGet(s, { d: 'x', c: 1, n: 4 })).body).toMatchObject({ ok: false, error: 'too_many_chunks' });
});

test('a message past MAX_MESSAGE_BYTES is refused, chunked or not', async () => {
  const s = await open();
  expect((await sendPost(s, { d: 'x'.repeat(1001), n: 1 })).body).toMatchObject({ ok: false, error: 'message_too_large' });
  await sendPost(s, { d: 'x'.repeat(600), c: 1, n: 1 });
  expect((await sendPost(s, { d: 'x'.repeat(600), n: 2 })).body).toMatchObject({ ok: false, error: 'message_too_large' });
});

test('a POST body past MAX_BODY_BYTES answers body_too_large (413)', async () => {
  const s = await open();
  const a = await sendPost(s, { d: 'x'.repeat(5000), n: 1 });
  expect(a.status).toBe(413);
  expect(a.body).toMatchObject({ ok: false, error: 'body_too_large' });
});

test('a URL past MAX_URL_BYTES answers url_too_long inside the callback', async () => {
  const s = await open();
  const a = await sendGet(s, { d: 'x'.repeat(2100), n: 1 });
  expect(a.status).toBe(200);
  expect(a.body).toMatchObject({ ok: false, error: 'url_too_long' });
});

test.each([
  ['unknown t', { d: 'x', t: 'z' }, 'bad_parameter'],
  ['missing d', { t: 't' }, 'bad_parameter'],
  ['bad n', { d: 'x', n: 'one' }, 'bad_parameter'],
  ['n of 0', { d: 'x', n: 0 }, 'bad_parameter'],
  ['bad c', { d: 'x', c: 'yes' }, 'bad_parameter'],
  ['bad base64', { d: 'a=b', t: 'b' }, 'bad_base64'],
  ['close code 1001', { t: 'c', code: 1001 }, 'bad_close'],
  ['close reason over 123 bytes', { t: 'c', code: 1000, reason: 'é'.repeat(62) }, 'bad_close'],
])('%s answers %s', async (_name, params, code) => {
  const s = await open();
  expect((await sendGet(s, params)).body).toMatchObject({ ok: false, error: code });
});

test('a send to an unknown socket answers unknown_socket', async () => {
  const s = await open();
  expect((await sendGet({ ...s, socket: 'B'.repeat(24) }, { d: 'x' })).body).toMatchObject({ ok: false, error: 'unknown_socket' });
});

test('client close (t=c) runs the closing handshake; the next poll gets the upstream answer', async () => {
  const s = await open();
  await sendGet(s, { t: 'c', code: 4000, reason: 'bye now', n: 1 });
  await up.closedCount(1);
  expect(up.closes[0]).toEqual({ code: 4000, reason: 'bye now' });
  const { messages } = await collect(s, 1);
  expect(messages).toEqual([{ type: 'close', seq: 1, code: 4000, reason: 'bye now' }]);
});

test('after a close, sends answer unknown_socket', async () => {
  const s = await open();
  await sendGet(s, { t: 'c', code: 1000, n: 1 });
  expect((await sendGet(s, { d: 'late', n: 2 })).body).toMatchObject({ ok: false, error: 'unknown_socket' });
});

test('the close is kept until acked; an ack past it forgets the socket', async () => {
  const s = await open();
  await sendGet(s, { t: 'c', code: 1000, n: 1 });
  const { ack } = await collect(s, 1);
  expect((await poll(s, { ack: 0, ttl: 0 })).body.messages[0]).toMatchObject({ type: 'close', code: 1000 });
  expect((await poll(s, { ack, ttl: 0 })).body).toMatchObject({ ok: false, error: 'unknown_socket' });
});

test('CORS: a preflight is answered and responses name the origin', async () => {
  const s = await open();
  const pre = await request(`${s.url}/s/${s.socket}`, {
    method: 'OPTIONS',
    headers: { Origin: 'http://page.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  expect(pre.status).toBe(204);
  expect(pre.headers['access-control-allow-origin']).toBe('http://page.example');
  expect(pre.headers['access-control-allow-methods']).toContain('POST');
  const a = await request(`${s.url}/s/${s.socket}?${qs({ d: 'x', n: 1 })}`, { headers: { Origin: 'http://page.example' } });
  expect(a.headers['access-control-allow-origin']).toBe('http://page.example');
});

test('other methods answer method_not_allowed', async () => {
  const s: Opened = await open();
  const a = await request(`${s.url}/j/${s.socket}`, { method: 'DELETE' });
  expect(a.status).toBe(405);
  expect(a.body).toMatchObject({ ok: false, error: 'method_not_allowed' });
});

describe('batches', () => {
  const batch = (s: Opened, n: number, items: [string, string][], extra = '') =>
    request(`${s.url}/s/${s.socket}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: `n=${n}&${items.map(([t, d]) => `t=${t}&d=${encodeURIComponent(d)}`).join('&')}${extra}`,
    });

  test('repeated t and d in one POST are sends n, n+1, ... in order', async () => {
    const s = await open();
    const a = await batch(s, 1, [
      ['t', 'a'],
      ['b', 'AQI='],
      ['t', 'c'],
    ]);
    expect(a.body).toEqual({ ok: true, n: 3 });
    await up.receivedCount(3);
    expect(up.received).toEqual(['a', Buffer.from([1, 2]), 'c']);
  });

  test('a retried batch is taken once, and a batch overlapping what was taken forwards only the new', async () => {
    const s = await open();
    await batch(s, 1, [
      ['t', 'a'],
      ['t', 'b'],
    ]);
    expect(
      (
        await batch(s, 1, [
          ['t', 'a'],
          ['t', 'b'],
        ])
      ).body,
    ).toEqual({ ok: true, n: 2, duplicate: true });
    expect(
      (
        await batch(s, 2, [
          ['t', 'b'],
          ['t', 'c'],
        ])
      ).body,
    ).toEqual({ ok: true, n: 3 });
    await up.receivedCount(3);
    expect(up.received).toEqual(['a', 'b', 'c']);
  });

  test('a failing send in a batch names the next expected n; the ones before it were taken', async () => {
    const s = await open();
    const a = await batch(s, 1, [
      ['t', 'ok'],
      ['b', '!!'],
    ]);
    expect(a.body).toMatchObject({ ok: false, error: 'bad_base64', expected: 2 });
    await up.receivedCount(1);
    expect(up.received).toEqual(['ok']);
  });

  test('a close may end a batch, not sit inside one', async () => {
    const s = await open();
    expect(
      (
        await batch(s, 1, [
          ['c', ''],
          ['t', 'late'],
        ])
      ).body,
    ).toMatchObject({ ok: false, error: 'bad_parameter' });
    expect(
      (
        await batch(
          s,
          1,
          [
            ['t', 'last words'],
            ['c', ''],
          ],
          '&code=4001&reason=done',
        )
      ).body,
    ).toEqual({ ok: true, n: 2 });
    await up.closedCount(1);
    expect(up.received).toEqual(['last words']);
    expect(up.closes[0]).toEqual({ code: 4001, reason: 'done' });
  });

  test('a batch needs n and matching counts of t and d', async () => {
    const s = await open();
    expect((await request(`${s.url}/s/${s.socket}`, { method: 'POST', body: 't=t&d=a&t=t&d=b' })).body).toMatchObject({
      error: 'bad_parameter',
    });
    expect((await request(`${s.url}/s/${s.socket}`, { method: 'POST', body: 'n=1&t=t&d=a&d=b' })).body).toMatchObject({
      error: 'bad_parameter',
    });
  });
});

describe('backpressure from the upstream', () => {
  test('a send is held while the upstream lags; past the bound the socket closes with 1009', async () => {
    const cap = 65536;
    const tight = await allInOne({ MAX_BUFFERED_BYTES: String(cap), MAX_MESSAGE_BYTES: '1048576', MAX_BODY_BYTES: '2097152' });
    const own = await startUpstream();
    try {
      const s = await create(tight.base, { target: own.url });
      const session = tight.relay!.get(s.socket)!;
      await sendGet(s, { d: 'stall', n: 1 });
      await own.receivedCount(1);
      // fill the upstream's TCP buffers until the relay holds a send's answer (bounded)
      const big = 'y'.repeat(24_000);
      let held: Promise<unknown> | undefined;
      let n = 2;
      for (; n < 2000 && !held; n++) {
        const answer = sendPost(s, { d: big, n });
        const lagging = until(() => session.upstreamBacklog > cap / 2, 2000).then(
          () => 'lagging',
          () => 'flowing',
        );
        if ((await Promise.race([answer.then(() => 'answered'), lagging])) === 'lagging') held = answer;
      }
      expect(held).toBeDefined();
      // the next send cannot fit: the socket closes with 1009, the send says why
      const refused = await sendPost(s, { d: 'z'.repeat(cap), n });
      expect(refused.body).toMatchObject({ ok: false, error: 'upstream_backlog' });
      // the held send was taken: it is answered ok once the upstream is gone
      expect(((await held) as { body: unknown }).body).toMatchObject({ ok: true });
      const { messages } = await collect(s, 1);
      expect(messages[messages.length - 1]).toMatchObject({ type: 'close', code: 1009, reason: 'upstream is not reading' });
    } finally {
      await tight.close();
      await own.close();
    }
  });
});

describe('§4.5 a batch is taken send by send', () => {
  test('a batch the limits allow, larger than MAX_BUFFERED_BYTES in all, reaches an upstream that reads, whole', async () => {
    const svc = await allInOne({ MAX_BUFFERED_BYTES: '262144' });
    const own = await startUpstream({ echo: false });
    try {
      const s = await create(svc.base, { target: own.url });
      const item = 'z'.repeat(1000);
      let body = 'n=1';
      for (let i = 0; i < 500; i++) body += `&t=t&d=${item}`; // 500 KB: twice the bound, each send well under it
      const answer = await request(`${s.url}/s/${s.socket}?cb=s`, { method: 'POST', body });
      expect(answer.body).toEqual({ ok: true, n: 500 });
      await own.receivedCount(500);
      expect(own.received).toHaveLength(500);
    } finally {
      await svc.close();
      await own.close();
    }
  });
});
