/**
 * PROTOCOL.md § 6.2 Origins: /create checks Origin (or Referer) against the token; the relay
 * binds each socket to its origin.
 */
import { mintToken } from '../../router/token';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, poll, sendGet } from '../helpers/wire';

const SECRET = 'origins-test-secret-0123456789abcdef0123456789abcdef';
let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;
const token = (extra: { origins?: string[]; allowNoOrigin?: boolean } = {}) =>
  mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], origins: ['https://app.example', 'https://*.shop.example'], ...extra });
const outcome = (headers: Record<string, string>, t = token()) =>
  create(svc.base, { target: up.url, token: t }, headers).then(
    () => 'accepted',
    (e: { code: string }) => e.code,
  );

beforeAll(async () => {
  up = await startUpstream();
  svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET });
});
afterAll(async () => {
  await svc.close();
  await up.close();
});

test.each([
  ['a listed Origin', { Origin: 'https://app.example' }, 'accepted'],
  ['a Referer from a listed origin (script loads send no Origin)', { Referer: 'https://app.example/page?x=1' }, 'accepted'],
  ['a subdomain of a wildcard origin', { Origin: 'https://eu.shop.example' }, 'accepted'],
  ['the wildcard parent itself', { Origin: 'https://shop.example' }, 'origin_not_allowed'],
  ['another origin', { Origin: 'https://evil.example' }, 'origin_not_allowed'],
  ['the right host on another scheme', { Origin: 'http://app.example' }, 'origin_not_allowed'],
  ['the right host on another port', { Origin: 'https://app.example:8443' }, 'origin_not_allowed'],
  ['a look-alike host', { Origin: 'https://app.example.evil.example' }, 'origin_not_allowed'],
  ['no Origin and no Referer', {}, 'origin_not_allowed'],
  ['Origin: null (sandboxed frames, file:)', { Origin: 'null' }, 'origin_not_allowed'],
])('%s: %s', async (_name, headers, expected) => {
  expect(await outcome(headers)).toBe(expected);
});

test('no origin at all is accepted when the token says allow_no_origin', async () => {
  expect(await outcome({}, token({ allowNoOrigin: true }))).toBe('accepted');
});

test('origins "*" accepts any page', async () => {
  expect(await outcome({ Origin: 'https://anyone.example' }, token({ origins: ['*'] }))).toBe('accepted');
});

test('the relay refuses sends and polls from another origin than the socket was created for', async () => {
  const s = await create(svc.base, { target: up.url, token: token() }, { Origin: 'https://app.example' });
  expect((await sendGet(s, { d: 'x', n: 1 }, { Origin: 'https://evil.example' })).body).toMatchObject({
    ok: false,
    error: 'origin_not_allowed',
  });
  expect((await poll(s, { ttl: 0 }, { headers: { Referer: 'https://evil.example/' } })).body).toMatchObject({
    ok: false,
    error: 'origin_not_allowed',
  });
  // the socket's own origin, and requests that carry no origin (stripped Referer), still work
  expect((await sendGet(s, { d: 'x', n: 1 }, { Origin: 'https://app.example' })).body).toEqual({ ok: true, n: 1 });
  expect((await poll(s, { ttl: 1000, ack: 0 })).body.messages).toEqual([{ type: 'text', seq: 1, data: 'x' }]);
});
