/**
 * PROTOCOL.md § 6.3 Targets: no internal addresses, whatever the spelling, checked on the
 * address actually connected to. Every upstream here listens on loopback, so a refusal proves
 * the policy (a connection would have succeeded); nothing is ever sent off this machine.
 */
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create } from '../helpers/wire';

let up: Upstream;
let strict: Awaited<ReturnType<typeof allInOne>>;
const outcome = (svc: { base: string }, target: string) =>
  create(svc.base, { target }).then(
    () => 'accepted',
    (e: { code: string }) => e.code,
  );

beforeAll(async () => {
  up = await startUpstream();
  // the default policy, with no allow-list
  strict = await allInOne({ ALLOW_TARGETS: '127.0.0.2' });
});
afterAll(async () => {
  await strict.close();
  await up.close();
});

test.each([
  ['dotted loopback', (p: number) => `ws://127.0.0.1:${p}/`],
  ['decimal integer (2130706433)', (p: number) => `ws://2130706433:${p}/`],
  ['hex and short form (0x7f.1)', (p: number) => `ws://0x7f.1:${p}/`],
  ['octal (0177.0.0.1)', (p: number) => `ws://0177.0.0.1:${p}/`],
  ['IPv6 loopback', (p: number) => `ws://[::1]:${p}/`],
  ['IPv4-mapped IPv6', (p: number) => `ws://[::ffff:127.0.0.1]:${p}/`],
  ['IPv4-mapped IPv6 in hex', (p: number) => `ws://[::ffff:7f00:1]:${p}/`],
  ['a DNS name resolving to loopback (localhost)', (p: number) => `ws://localhost:${p}/`],
])('%s is refused as target_forbidden_address', async (_name, target) => {
  expect(await outcome(strict, target(up.port))).toBe('target_forbidden_address');
  expect(up.sockets.size).toBe(0);
});

test('an allow-listed address is reachable', async () => {
  const open = await allInOne({ ALLOW_TARGETS: '127.0.0.0/8' });
  try {
    expect(await outcome(open, up.url)).toBe('accepted');
  } finally {
    await open.close();
  }
});

test('an allow-listed name is reachable, its resolution is not checked', async () => {
  const open = await allInOne({ ALLOW_TARGETS: 'localhost' });
  try {
    expect(await outcome(open, `ws://localhost:${up.port}/`)).toBe('accepted');
  } finally {
    await open.close();
  }
});

test('the ws client would quietly take http: and ws+unix:; the router refuses both', async () => {
  expect(await outcome(strict, `http://127.0.0.1:${up.port}/`)).toBe('bad_target');
  expect(await outcome(strict, 'ws+unix:/var/run/docker.sock')).toBe('bad_target');
});
