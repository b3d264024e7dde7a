/**
 * PROTOCOL.md §1 and §3 as a poll answer's bytes: the relay writes the callback and the envelope
 * around messages it encoded once, and what arrives is exactly what §1 describes.
 */
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { until } from '../harness/until';
import { create, poll, request, sendGet, type Opened } from '../helpers/wire';

let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;

beforeAll(async () => {
  up = await startUpstream();
  svc = await allInOne();
});
afterAll(async () => {
  await svc.close();
  await up.close();
});

const DATA = 'é, € and 😀 <b>';
const MESSAGES = `[{"type":"text","seq":1,"data":${JSON.stringify(DATA).replace('<', '\\u003c').replace('>', '\\u003e')}}]`;

/** A socket whose upstream echoed DATA: one message waits. */
async function withEcho(): Promise<Opened> {
  const s = await create(svc.base, { target: up.url });
  await sendGet(s, { d: DATA, n: 1 });
  await until(() => (svc.relay!.get(s.socket)?.outbox.size ?? 0) > 0, 10_000, 'the echo queued');
  return s;
}

test('a JSONP poll answer is /**/cb({"ok":true,"messages":[...]}); byte for byte, its Content-Length counting UTF-8 bytes', async () => {
  const s = await withEcho();
  const a = await poll(s, { ack: 0, cb: 'cb.p1' });
  const expected = `/**/cb.p1({"ok":true,"messages":${MESSAGES}});`;
  expect(a.text).toBe(expected);
  expect(a.headers['content-length']).toBe(String(Buffer.byteLength(expected)));
});

test('a JSON poll answer (no cb) is {"ok":true,"messages":[...]} byte for byte', async () => {
  const s = await withEcho();
  const a = await request(`${s.url}/j/${s.socket}?ack=0`);
  expect(a.status).toBe(200);
  expect(a.text).toBe(`{"ok":true,"messages":${MESSAGES}}`);
  expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
});

test("a poll answer carries the headers of every other answer (§1): a send's, less its length", async () => {
  const s = await withEcho();
  const polled = await poll(s, { ack: 0 });
  const sent = await sendGet(s, { d: 'x', n: 2 });
  const same = ['content-type', 'cache-control', 'pragma', 'x-content-type-options', 'access-control-allow-origin'];
  for (const h of same) expect([h, polled.headers[h]]).toEqual([h, sent.headers[h]]);
});

test('polls with the same ack get the same bytes, each through its own callback', async () => {
  const s = await withEcho();
  const first = await poll(s, { ack: 0, cb: 'first' });
  const second = await poll(s, { ack: 0, cb: 'second' });
  expect(first.text.slice('/**/first('.length)).toBe(second.text.slice('/**/second('.length));
  expect(second.body).toEqual({ ok: true, messages: [{ type: 'text', seq: 1, data: DATA }] });
});
