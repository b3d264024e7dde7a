/**
 * PROTOCOL.md § 6.1 Tokens: every refusal has its own code.
 */
import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { mintToken } from '../../router/token';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create } from '../helpers/wire';

const SECRET = 'tokens-test-secret-0123456789abcdef0123456789abcdef';
const ORIGIN = 'http://app.example';
let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;

const claims = () => ({ targets: ['ws://127.0.0.1:*'], origins: [ORIGIN] });
const attempt = (token: string | undefined) => create(svc.base, { target: up.url, token }, { Origin: ORIGIN });
const refusal = (token: string | undefined) =>
  attempt(token).then(
    () => 'accepted',
    (e: { code: string }) => e.code,
  );

beforeAll(async () => {
  up = await startUpstream();
  svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, TOKEN_AUDIENCE: 'polysocket', TOKEN_ISSUER: 'https://issuer.example' });
});
afterAll(async () => {
  await svc.close();
  await up.close();
});

function sign(payload: object, options: jwt.SignOptions = {}, key: string = SECRET): string {
  const o: jwt.SignOptions = { algorithm: 'HS256', audience: 'polysocket', issuer: 'https://issuer.example', ...options };
  if (!('exp' in payload)) o.expiresIn = 60;
  return jwt.sign(payload, key, o);
}

test('a well-formed token opens the socket', async () => {
  await expect(attempt(sign(claims()))).resolves.toMatchObject({ socket: expect.any(String) });
});

test('polysocket token mints what the router accepts', async () => {
  const token = mintToken(SECRET, {
    targets: ['ws://127.0.0.1:*'],
    origins: [ORIGIN],
    audience: 'polysocket',
    issuer: 'https://issuer.example',
  });
  await expect(attempt(token)).resolves.toMatchObject({ ok: true });
});

test.each([
  ['no token', () => undefined, 'token_missing'],
  ['garbage', () => 'not.a.jwt', 'token_invalid'],
  ['forged signature', () => sign(claims(), {}, 'another-secret'), 'token_invalid'],
  [
    'alg none',
    () => jwt.sign(claims(), '', { algorithm: 'none', audience: 'polysocket', issuer: 'https://issuer.example' }),
    'token_algorithm',
  ],
  ['another algorithm (HS512)', () => sign(claims(), { algorithm: 'HS512' }), 'token_algorithm'],
  ['expired', () => sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 60 }, {}), 'token_expired'],
  ['not yet valid', () => sign(claims(), { notBefore: 3600 }), 'token_not_yet_valid'],
  ['wrong audience', () => sign(claims(), { audience: 'someone-else' }), 'token_audience'],
  ['wrong issuer', () => sign(claims(), { issuer: 'https://evil.example' }), 'token_issuer'],
  ['no targets claim', () => sign({ origins: [ORIGIN] }), 'token_claims'],
  ['a regex as a target', () => sign({ ...claims(), targets: ['ws://.*'] }), 'token_claims'],
  ['bad max_sockets', () => sign({ ...claims(), max_sockets: 0 }), 'token_claims'],
  ['target not allowed', () => sign({ ...claims(), targets: ['wss://elsewhere.example/'] }), 'target_not_allowed'],
])('%s is refused', async (_name, token, code) => {
  expect(await refusal(token())).toBe(code);
});

test('a token within the clock tolerance is still taken', async () => {
  const token = sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 2 }, {});
  expect(await refusal(token)).toBe('accepted');
});

test('a single-use token opens one socket, then token_reused', async () => {
  const token = mintToken(SECRET, {
    targets: ['ws://127.0.0.1:*'],
    origins: [ORIGIN],
    once: true,
    audience: 'polysocket',
    issuer: 'https://issuer.example',
  });
  expect(await refusal(token)).toBe('accepted');
  expect(await refusal(token)).toBe('token_reused');
});

describe('public-key tokens (RS256, ES256)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let pk: Awaited<ReturnType<typeof allInOne>>;
  let ecSvc: Awaited<ReturnType<typeof allInOne>>;
  const pem = (k: typeof rsa.publicKey) => k.export({ type: 'spki', format: 'pem' }).toString();

  beforeAll(async () => {
    pk = await allInOne({ AUTH: 'token', TOKEN_PUBLIC_KEY: pem(rsa.publicKey), TOKEN_ALGORITHMS: 'RS256' });
    ecSvc = await allInOne({ AUTH: 'token', TOKEN_PUBLIC_KEY: pem(ec.publicKey), TOKEN_ALGORITHMS: 'ES256' });
  });
  afterAll(async () => {
    await pk.close();
    await ecSvc.close();
  });
  const tryWith = (base: string, token: string) =>
    create(base, { target: up.url, token }, { Origin: ORIGIN }).then(
      () => 'accepted',
      (e: { code: string }) => e.code,
    );

  test('RS256 signed with the private key is accepted', async () => {
    expect(await tryWith(pk.base, jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256', expiresIn: 60 }))).toBe('accepted');
  });

  test('ES256 signed with the private key is accepted', async () => {
    expect(await tryWith(ecSvc.base, jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256', expiresIn: 60 }))).toBe('accepted');
  });

  test('algorithm confusion: HS256 "signed" with the public key is refused', async () => {
    const forged = jwt.sign(claims(), pem(rsa.publicKey), { algorithm: 'HS256', expiresIn: 60 });
    expect(await tryWith(pk.base, forged)).toBe('token_algorithm');
  });

  test('RS256 signed by another key is refused', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(await tryWith(pk.base, jwt.sign(claims(), other.privateKey, { algorithm: 'RS256', expiresIn: 60 }))).toBe('token_invalid');
  });
});
