/**
 * Targets: paths matched as upstream servers will route them, and the ports
 * browsers refuse refused here too.
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { mintToken } from '../../router/token';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, outcome } from '../helpers/wire';

const SECRET = 'target-paths-and-ports-secret-0123456789abcdef0123456789';
let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

describe('target paths', () => {
  let svc: Awaited<ReturnType<typeof allInOne>>;
  let token: string;
  beforeAll(async () => {
    svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET });
    token = mintToken(SECRET, { targets: ['ws://127.0.0.1:*/allowed/'], allowNoOrigin: true });
  });
  afterAll(() => svc.close());

  test('a path under the allowed prefix is accepted', async () => {
    expect(await outcome(create(svc.base, { target: `ws://127.0.0.1:${up.port}/allowed/x`, token }))).toBe('accepted');
  });

  test.each([
    ['an encoded slash', '/allowed/..%2fadmin'],
    ['an encoded slash, upper case', '/allowed/..%2Fadmin'],
    ['an encoded backslash', '/allowed/..%5cadmin'],
    ['encoded dot segments', '/allowed/%2e%2e/admin'],
    ['a half-encoded dot segment', '/allowed/.%2e/admin'],
  ])('%s in the path is bad_target', async (_name, p) => {
    expect(await outcome(create(svc.base, { target: `ws://127.0.0.1:${up.port}${p}`, token }))).toBe('bad_target');
  });

  test('a literal dot segment is matched after the URL parser removed it', async () => {
    expect(await outcome(create(svc.base, { target: `ws://127.0.0.1:${up.port}/allowed/../admin`, token }))).toBe('target_not_allowed');
  });
});

describe('bad ports', () => {
  /** A WebSocket server on a port browsers never connect to (6666, an IRC port), on loopback. */
  async function onBadPort(): Promise<{ close(): Promise<void> } | undefined> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('error', () => undefined));
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(6666, '127.0.0.1', () => resolve(true));
    });
    return listening ? { close: () => new Promise((r) => server.close(() => r())) } : undefined;
  }

  test('the relay refuses a target on a bad port, although something listens there', async () => {
    const bad = await onBadPort();
    const svc = await allInOne();
    try {
      expect(await outcome(create(svc.base, { target: 'ws://127.0.0.1:6666/' }))).toBe('target_forbidden_port');
      expect(await outcome(create(svc.base, { target: 'ws://127.0.0.1:25/' }))).toBe('target_forbidden_port');
    } finally {
      await svc.close();
      await bad?.close();
    }
  });

  test('ALLOW_PORTS reopens a bad port on purpose', async () => {
    const bad = await onBadPort();
    if (!bad) throw new Error('port 6666 is taken on this machine');
    const svc = await allInOne({ ALLOW_PORTS: '6666' });
    try {
      expect(await outcome(create(svc.base, { target: 'ws://127.0.0.1:6666/' }))).toBe('accepted');
    } finally {
      await svc.close();
      await bad.close();
    }
  });
});
