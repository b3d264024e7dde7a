/**
 * Tokens: verifies a JWT with the operator's key and turns its claims into a Grant.
 * Claims (docs/PROTOCOL.md, "Tokens"):
 *   targets          string[]  target patterns the token may open (see target-rules.ts)
 *   origins          string[]  page origins that may use it ("*" any, "https://*.example.com")
 *   allow_no_origin  boolean   requests that carry neither Origin nor Referer are accepted
 *   max_sockets      number    sockets open at once under this token, across the service
 *   once             boolean   single use: the jti is remembered until the token expires
 *   cookies          string[]  names of the cookies sent with /create that go on to the upstream
 *   upstream_headers object    headers for the upstream handshake
 */
import { createHash, randomBytes } from 'node:crypto';
import jwt, { type Algorithm, type JwtPayload } from 'jsonwebtoken';
import type { Config } from '../shared/config';
import { PolysocketError } from '../shared/errors';
import { parseTargetRule, type TargetRule } from './target-rules';
import { parseOriginRule, type OriginRule } from './origin-rules';

export interface Grant {
  targets: TargetRule[];
  origins: OriginRule[];
  allowNoOrigin: boolean;
  maxSockets?: number;
  /** key of the token's socket slots and rate limit: a hash, never the token itself */
  key: string;
  /** single-use id and how long to remember it */
  once?: { jti: string; ttlMs: number };
  /** ms until the token expires (0 = never) */
  ttlMs: number;
  /** names of the page's cookies (sent to /create) that go on to the upstream handshake */
  cookies: string[];
  /** headers the operator's backend signed in for the upstream handshake (e.g. Authorization) */
  upstreamHeaders: Record<string, string>;
}

const HMAC = new Set(['HS256', 'HS384', 'HS512']);
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);
export const MAX_TOKEN_LENGTH = 4096;
/** An RFC 7230 token: cookie and header names. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;
/** Names a `cookies` claim may hold. */
const MAX_COOKIES = 32;
/** What the handshake itself, the forwarding and the cookie rule decide: never a token's to set. */
const RESERVED_HEADERS = new RegExp(
  `^(${['host', 'connection', 'upgrade', 'origin', 'cookie', 'content-length', 'transfer-encoding', 'te', 'trailer', 'keep-alive']
    .concat(['proxy-.*', 'sec-.*', 'x-forwarded-.*', 'forwarded'])
    .join('|')})$`,
  'i',
);

/** Anything that turns a token into a Grant (or refuses it with a coded error). */
export interface Verifier {
  verify(token: string | undefined, now?: number): Grant;
}

export type TokenConfig = Pick<
  Config,
  'tokenSecret' | 'tokenPublicKey' | 'tokenAlgorithms' | 'tokenAudience' | 'tokenIssuer' | 'tokenClockToleranceS' | 'tokenMaxTtlS'
>;

/**
 * One signed token has one spelling: a signature whose base64url text is not canonical (the low
 * bits of its last character set) verifies although it is not what the signer wrote, so it is
 * refused. ECDSA's other twin, (r, n - s), is a different but valid signature that many signers
 * produce themselves; it is not refused, and cannot buy anything either: every limit is keyed on
 * the signed part (header and payload), which both twins share.
 */
function canonicalSignature(signature: string): boolean {
  return Buffer.from(signature, 'base64url').toString('base64url') === signature;
}

export class TokenVerifier implements Verifier {
  private readonly key: string;
  private readonly algorithms: Algorithm[];

  constructor(private readonly config: TokenConfig) {
    const algorithms = config.tokenAlgorithms as Algorithm[];
    for (const a of algorithms) {
      if (!HMAC.has(a) && !ASYMMETRIC.has(a)) throw new PolysocketError('bad_parameter', `TOKEN_ALGORITHMS: unknown algorithm ${a}`);
    }
    if (config.tokenPublicKey) {
      if (algorithms.some((a) => HMAC.has(a))) {
        // A public key used as an HMAC secret is the classic algorithm-confusion forgery.
        throw new PolysocketError('bad_parameter', 'TOKEN_PUBLIC_KEY goes with RS*/PS*/ES* algorithms only');
      }
      this.key = config.tokenPublicKey;
    } else if (config.tokenSecret) {
      if (algorithms.some((a) => !HMAC.has(a))) throw new PolysocketError('bad_parameter', 'TOKEN_SECRET goes with HS* algorithms only');
      this.key = config.tokenSecret;
    } else {
      throw new PolysocketError('bad_parameter', 'tokens need TOKEN_SECRET or TOKEN_PUBLIC_KEY');
    }
    this.algorithms = algorithms;
  }

  verify(token: string | undefined, now = Date.now()): Grant {
    if (!token) throw new PolysocketError('token_missing');
    if (token.length > MAX_TOKEN_LENGTH) throw new PolysocketError('token_invalid', 'token is too long');
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload !== 'object') throw new PolysocketError('token_invalid');
    if (!this.algorithms.includes(decoded.header.alg as Algorithm)) {
      throw new PolysocketError('token_algorithm', `tokens must be signed with ${this.algorithms.join(' or ')}`);
    }
    if (!canonicalSignature(decoded.signature)) throw new PolysocketError('token_invalid', 'the signature is not in canonical form');
    let payload: JwtPayload;
    try {
      payload = jwt.verify(token, this.key, {
        algorithms: this.algorithms,
        audience: this.config.tokenAudience,
        issuer: this.config.tokenIssuer,
        clockTolerance: this.config.tokenClockToleranceS,
        clockTimestamp: Math.floor(now / 1000),
      }) as JwtPayload;
    } catch (err) {
      throw verifyError(err);
    }
    return grantOf(payload, token, now, this.config);
  }
}

/** The key id of the all-in-one demo's tokens: signed with a key of the process's own, never the operator's. */
export const DEMO_KEY_ID = 'polysocket-demo';

/** Picks the verifier by the token's `kid`: the demo's own key for demo tokens, the operator's for the rest. */
export class KeyedVerifier implements Verifier {
  constructor(
    private readonly byKeyId: Record<string, Verifier>,
    private readonly fallback: Verifier | undefined,
  ) {}

  verify(token: string | undefined, now = Date.now()): Grant {
    if (!token) throw new PolysocketError('token_missing');
    const kid = token.length <= MAX_TOKEN_LENGTH ? jwt.decode(token, { complete: true })?.header.kid : undefined;
    const verifier = (kid !== undefined && Object.hasOwn(this.byKeyId, kid) ? this.byKeyId[kid] : undefined) ?? this.fallback;
    if (!verifier) throw new PolysocketError('token_invalid', "this service verifies no tokens but its demo's");
    return verifier.verify(token, now);
  }
}

function verifyError(err: unknown): PolysocketError {
  const e = err as { name?: string; message?: string };
  if (e.name === 'TokenExpiredError') return new PolysocketError('token_expired');
  if (e.name === 'NotBeforeError') return new PolysocketError('token_not_yet_valid');
  const m = e.message ?? '';
  if (m.startsWith('jwt audience invalid')) return new PolysocketError('token_audience');
  if (m.startsWith('jwt issuer invalid')) return new PolysocketError('token_issuer');
  if (m.includes('algorithm') || m === 'jwt signature is required') return new PolysocketError('token_algorithm');
  return new PolysocketError('token_invalid');
}

function grantOf(p: JwtPayload, token: string, now: number, c: Pick<Config, 'tokenMaxTtlS' | 'tokenClockToleranceS'>): Grant {
  const bad = (why: string) => new PolysocketError('token_claims', `token claims: ${why}`);
  if (c.tokenMaxTtlS > 0) {
    if (typeof p.exp !== 'number') throw bad(`exp is required (tokens live at most TOKEN_MAX_TTL_S=${c.tokenMaxTtlS} s)`);
    if (p.exp * 1000 - now > (c.tokenMaxTtlS + c.tokenClockToleranceS) * 1000) {
      throw bad(`exp is more than TOKEN_MAX_TTL_S=${c.tokenMaxTtlS} s away`);
    }
  }
  if (!Array.isArray(p.targets) || p.targets.length === 0 || p.targets.some((t) => typeof t !== 'string')) {
    throw bad('targets must be a non-empty list of strings');
  }
  const origins = p.origins ?? [];
  if (!Array.isArray(origins) || origins.some((o) => typeof o !== 'string')) throw bad('origins must be a list of strings');
  if (p.allow_no_origin !== undefined && typeof p.allow_no_origin !== 'boolean') throw bad('allow_no_origin must be true or false');
  if (p.max_sockets !== undefined && (!Number.isInteger(p.max_sockets) || p.max_sockets < 1))
    throw bad('max_sockets must be a whole number of at least 1');
  if (p.once !== undefined && p.once !== true && p.once !== false) throw bad('once must be true or false');
  if (p.once && (typeof p.jti !== 'string' || !p.jti || typeof p.exp !== 'number')) throw bad('a single-use token needs jti and exp');
  let targets: TargetRule[];
  let originRules: OriginRule[];
  try {
    targets = p.targets.map(parseTargetRule);
    originRules = (origins as string[]).map(parseOriginRule);
  } catch (err) {
    throw bad((err as Error).message);
  }
  const ttlMs = typeof p.exp === 'number' ? Math.max(1, p.exp * 1000 - now) : 0;
  const cookies = p.cookies ?? [];
  if (!Array.isArray(cookies) || cookies.length > MAX_COOKIES || cookies.some((n) => typeof n !== 'string' || !COOKIE_NAME.test(n))) {
    throw bad('cookies must be a list of cookie names');
  }
  const upstreamHeaders = p.upstream_headers ?? {};
  if (typeof upstreamHeaders !== 'object' || Array.isArray(upstreamHeaders) || upstreamHeaders === null) {
    throw bad('upstream_headers must be an object of header names to values');
  }
  const entries = Object.entries(upstreamHeaders as Record<string, unknown>);
  if (entries.length > 16) throw bad('upstream_headers holds at most 16 headers');
  for (const [name, value] of entries) {
    if (!COOKIE_NAME.test(name) || RESERVED_HEADERS.test(name))
      throw bad(`upstream_headers: ${JSON.stringify(name.slice(0, 40))} may not be set`);
    if (typeof value !== 'string' || !/^[\x20-\x7e]{0,4096}$/.test(value))
      throw bad(`upstream_headers: the value of ${name} must be printable ASCII`);
  }
  // Limits and `once` are keyed on what is signed (header and payload), never on the token's text.
  const signed = token.slice(0, token.lastIndexOf('.'));
  return {
    targets,
    origins: originRules,
    allowNoOrigin: p.allow_no_origin === true,
    maxSockets: p.max_sockets,
    key: createHash('sha256').update(signed).digest('base64url').slice(0, 22),
    // Remembered as long as the token could still verify: exp plus the clock tolerance.
    once: p.once ? { jti: p.jti as string, ttlMs: ttlMs + c.tokenClockToleranceS * 1000 } : undefined,
    cookies: cookies as string[],
    upstreamHeaders: Object.fromEntries(entries) as Record<string, string>,
    ttlMs,
  };
}

export interface MintOptions {
  targets: string[];
  origins?: string[];
  allowNoOrigin?: boolean;
  maxSockets?: number;
  ttlSeconds?: number;
  once?: boolean;
  audience?: string;
  issuer?: string;
  /** `sub`: who the token is for (it also makes tokens minted in the same second distinct) */
  subject?: string;
  /** `kid` in the header: which key verifies it */
  keyId?: string;
  /** page cookies (by name) that go on to the upstream handshake */
  cookies?: string[];
  /** headers for the upstream handshake (e.g. an Authorization of the backend's own) */
  upstreamHeaders?: Record<string, string>;
}

/** The rule the verifier applies to a `cookies` claim, said before a token is signed that routers would refuse. */
function checkCookieNames(names: readonly string[]): void {
  const bad = names.find((n) => !COOKIE_NAME.test(n));
  if (bad !== undefined) {
    throw new PolysocketError(
      'bad_parameter',
      `cookie name ${JSON.stringify(bad.slice(0, 100))} is not a cookie name (1 to 64 letters, digits or !#$%&'*+-.^_\`|~)`,
    );
  }
  if (names.length > MAX_COOKIES) throw new PolysocketError('bad_parameter', `a token names at most ${MAX_COOKIES} cookies`);
}

/** Signs a token with an HMAC secret (`polysocket token`, the all-in-one demo, tests). */
export function mintToken(secret: string, o: MintOptions, algorithm: Algorithm = 'HS256'): string {
  for (const t of o.targets) parseTargetRule(t);
  for (const origin of o.origins ?? []) parseOriginRule(origin);
  checkCookieNames(o.cookies ?? []);
  const payload: Record<string, unknown> = { targets: o.targets };
  if (o.origins?.length) payload.origins = o.origins;
  if (o.allowNoOrigin) payload.allow_no_origin = true;
  if (o.maxSockets !== undefined) payload.max_sockets = o.maxSockets;
  if (o.cookies?.length) payload.cookies = o.cookies;
  if (o.upstreamHeaders) payload.upstream_headers = o.upstreamHeaders;
  if (o.once) {
    payload.once = true;
    payload.jti = randomBytes(12).toString('base64url');
  }
  const options: jwt.SignOptions = { algorithm, expiresIn: o.ttlSeconds ?? 3600 };
  if (o.audience) options.audience = o.audience;
  if (o.issuer) options.issuer = o.issuer;
  if (o.subject) options.subject = o.subject;
  if (o.keyId) options.keyid = o.keyId;
  return jwt.sign(payload, secret, options);
}
