/**
 * Tokens: lifetimes, single use, one spelling per signed token, and limits an
 * attacker cannot sidestep by guessing or by re-encoding.
 */
import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { mintToken } from '../../router/token';
import { clearOfWindowEdge } from '../harness/until';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, outcome } from '../helpers/wire';

const SECRET = 'token-lifetimes-secret-0123456789abcdef0123456789';
let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

const claims = (extra: Record<string, unknown> = {}) => ({ targets: ['ws://127.0.0.1:*'], allow_no_origin: true, ...extra });

describe('lifetimes', () => {
  test('a token without exp is refused', async () => {
    const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET });
    try {
      expect(await outcome(create(svc.base, { target: up.url, token: jwt.sign(claims(), SECRET) }))).toBe('token_claims');
    } finally {
      await svc.close();
    }
  });

  test('a token that expires further away than TOKEN_MAX_TTL_S is refused', async () => {
    const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, TOKEN_MAX_TTL_S: '3600' });
    try {
      const token = jwt.sign(claims(), SECRET, { expiresIn: 7200 });
      expect(await outcome(create(svc.base, { target: up.url, token }))).toBe('token_claims');
      expect(await outcome(create(svc.base, { target: up.url, token: jwt.sign(claims(), SECRET, { expiresIn: 3000 }) }))).toBe('accepted');
    } finally {
      await svc.close();
    }
  });

  test('TOKEN_MAX_TTL_S=0 lets the operator accept tokens without exp on purpose', async () => {
    const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, TOKEN_MAX_TTL_S: '0' });
    try {
      expect(await outcome(create(svc.base, { target: up.url, token: jwt.sign(claims(), SECRET) }))).toBe('accepted');
    } finally {
      await svc.close();
    }
  });
});

test('a single-use token is remembered as long as it verifies: past exp, within the clock tolerance', async () => {
  const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, TOKEN_CLOCK_TOLERANCE_S: '30' });
  try {
    // expired 2 s ago, still inside the 30 s tolerance: it verifies, once
    const exp = Math.floor(Date.now() / 1000) - 2;
    const token = jwt.sign(claims({ once: true, jti: 'j-1', exp }), SECRET);
    expect(await outcome(create(svc.base, { target: up.url, token }))).toBe('accepted');
    expect(await outcome(create(svc.base, { target: up.url, token }))).toBe('token_reused');
  } finally {
    await svc.close();
  }
});

describe('one spelling per signed token', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (k: typeof rsa.publicKey) => k.export({ type: 'spki', format: 'pem' }).toString();

  /** The same signature with the unused low bits of its last base64url character set. */
  function reencoded(token: string): string {
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = token[token.length - 1];
    // 256 bytes of RSA signature: 342 characters, the last carrying 2 bits and 4 of padding
    const twin = ALPHABET[ALPHABET.indexOf(last) | 1];
    return token.slice(0, -1) + twin;
  }

  /** The other valid ECDSA signature of the same message: (r, n - s). */
  function highLowTwin(token: string): string {
    const n = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551');
    const [h, p, sig] = token.split('.');
    const raw = Buffer.from(sig, 'base64url');
    const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
    const twin = Buffer.concat([raw.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    return `${h}.${p}.${twin.toString('base64url')}`;
  }

  test('an RS256 signature re-encoded in its padding bits is refused', async () => {
    const svc = await allInOne({ AUTH: 'token', TOKEN_PUBLIC_KEY: pem(rsa.publicKey), TOKEN_ALGORITHMS: 'RS256' });
    try {
      const token = jwt.sign(claims({ max_sockets: 1 }), rsa.privateKey, { algorithm: 'RS256', expiresIn: 60 });
      const twin = reencoded(token);
      expect(twin).not.toBe(token);
      expect(await outcome(create(svc.base, { target: up.url, token: twin }))).toBe('token_invalid');
      expect(await outcome(create(svc.base, { target: up.url, token }))).toBe('accepted');
    } finally {
      await svc.close();
    }
  });

  test("an ES256 token's other valid signature shares the token's slots: max_sockets=1 holds one socket", async () => {
    const svc = await allInOne({ AUTH: 'token', TOKEN_PUBLIC_KEY: pem(ec.publicKey), TOKEN_ALGORITHMS: 'ES256' });
    try {
      const token = jwt.sign(claims({ max_sockets: 1 }), ec.privateKey, { algorithm: 'ES256', expiresIn: 60 });
      const twin = highLowTwin(token);
      expect(() => jwt.verify(twin, pem(ec.publicKey), { algorithms: ['ES256'] })).not.toThrow();
      expect(await outcome(create(svc.base, { target: up.url, token }))).toBe('accepted');
      expect(await outcome(create(svc.base, { target: up.url, token: twin }))).toBe('socket_limit');
    } finally {
      await svc.close();
    }
  });
});

test('every /create attempt counts towards the per-address limit, refused ones too', async () => {
  await clearOfWindowEdge();
  const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, CREATES_PER_MINUTE_PER_IP: '3' });
  try {
    const good = mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], allowNoOrigin: true });
    for (let i = 0; i < 3; i++) expect(await outcome(create(svc.base, { target: up.url, token: `${good}x` }))).toBe('token_invalid');
    expect(await outcome(create(svc.base, { target: up.url, token: good }))).toBe('rate_limited');
  } finally {
    await svc.close();
  }
});

describe('upstream_headers', () => {
  test("a backend's own credential in the token reaches the upstream handshake, never the page", async () => {
    const { WebSocketServer } = await import('ws');
    const seen: (string | undefined)[] = [];
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws, req) => {
      seen.push(req.headers.authorization);
      ws.on('error', () => undefined);
    });
    await new Promise((r) => wss.once('listening', r));
    const url = `ws://127.0.0.1:${(wss.address() as import('node:net').AddressInfo).port}/`;
    const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET });
    try {
      const withHeader = jwt.sign(claims({ upstream_headers: { Authorization: 'Bearer backend-123' } }), SECRET, { expiresIn: 60 });
      const opened = await create(svc.base, { target: url, token: withHeader });
      expect(JSON.stringify(opened)).not.toContain('backend-123');
      expect(seen).toEqual(['Bearer backend-123']);
      for (const name of ['Host', 'Cookie', 'Sec-WebSocket-Key', 'X-Forwarded-For', 'Origin']) {
        const bad = jwt.sign(claims({ upstream_headers: { [name]: 'x' } }), SECRET, { expiresIn: 60 });
        expect(await outcome(create(svc.base, { target: url, token: bad }))).toBe('token_claims');
      }
    } finally {
      await svc.close();
      for (const c of wss.clients) c.terminate();
      wss.close();
    }
  });
});
