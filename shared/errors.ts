/**
 * The error catalogue: one stable code per failure, shared by the wire (`error` field),
 * the logs and docs/PROTOCOL.md. The HTTP status applies only to non-JSONP answers:
 * a JSONP answer is always 200 because a <script> tag cannot see a status.
 */
export const ERRORS = {
  // request shape
  bad_callback: { status: 400, message: 'cb must be a JavaScript identifier path such as jQuery123_456 or a.b.c' },
  bad_parameter: { status: 400, message: 'a parameter is missing or malformed' },
  bad_target: { status: 400, message: 'target must be an absolute ws: or wss: URL' },
  bad_protocols: { status: 400, message: 'protocols must be a comma-separated list of WebSocket subprotocol tokens' },
  bad_base64: { status: 400, message: 'd is not valid base64 (t=b)' },
  bad_ttl: { status: 400, message: 'ttl must be a whole number of milliseconds' },
  bad_ack: { status: 400, message: 'ack must be a whole number no greater than the last seq delivered' },
  bad_close: { status: 400, message: 'close code must be 1000 or 3000-4999 and reason at most 123 bytes' },
  stream_not_jsonp: { status: 400, message: 'stream=1 is for CORS requests: a script (cb) cannot read a stream' },
  chunk_type_mismatch: { status: 400, message: 'every chunk of a continued send must carry the same t' },
  out_of_order: { status: 409, message: 'n is ahead of the next expected send; resend the missing ones first' },
  not_found: { status: 404, message: 'no such endpoint' },
  method_not_allowed: { status: 405, message: 'method not allowed on this endpoint' },
  url_too_long: { status: 414, message: 'request URL is too long' },
  body_too_large: { status: 413, message: 'request body is too large' },
  message_too_large: { status: 413, message: 'message is larger than the relay accepts' },
  too_many_chunks: { status: 413, message: 'continued send has too many chunks' },
  // sockets
  unknown_socket: { status: 403, message: 'no open socket with this id' },
  upstream_backlog: { status: 503, message: 'the upstream is not reading; the socket was closed (1009)' },
  // placement and upstream
  no_relay: { status: 503, message: 'no relay is alive to take the socket' },
  relay_unavailable: { status: 503, message: 'the relay is draining or full' },
  upstream_unreachable: { status: 502, message: 'the target WebSocket server refused or did not answer' },
  create_timeout: { status: 504, message: 'the relay did not answer in time' },
  store_unavailable: { status: 503, message: 'the coordination store is unreachable' },
  // auth, origins, targets, limits
  token_missing: { status: 401, message: 'a token is required' },
  token_invalid: { status: 401, message: 'the token is malformed or its signature does not verify' },
  token_algorithm: { status: 401, message: 'the token is signed with an algorithm that is not accepted' },
  token_expired: { status: 401, message: 'the token has expired' },
  token_not_yet_valid: { status: 401, message: 'the token is not valid yet (nbf)' },
  token_audience: { status: 401, message: 'the token is not for this audience' },
  token_issuer: { status: 401, message: 'the token is not from an accepted issuer' },
  token_claims: { status: 401, message: 'the token claims are malformed' },
  token_reused: { status: 401, message: 'this single-use token was used already' },
  origin_not_allowed: { status: 403, message: 'the page origin is not allowed for this token or socket' },
  target_not_allowed: { status: 403, message: 'the token does not allow this target' },
  target_forbidden_address: { status: 403, message: 'the target resolves to an address the relay will not connect to' },
  target_forbidden_port: { status: 403, message: 'the target port is one browsers never connect to' },
  socket_limit: { status: 429, message: 'the token already holds as many sockets as it may' },
  rate_limited: { status: 429, message: 'too many creates; slow down' },
  too_many_pending: { status: 503, message: 'the router has too many creates in progress' },
  not_ready: { status: 503, message: 'not ready: see reasons' },
  internal: { status: 500, message: 'internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** A failure with a stable code. `message` is for humans and never echoes attacker input as code. */
export class PolysocketError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERRORS[code].message);
    this.name = 'PolysocketError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  /** The wire form: `{ok:false, error, message, ...details}`. */
  toBody(): Record<string, unknown> {
    return { ok: false, error: this.code, message: this.message, ...this.details };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** Any thrown value as a PolysocketError; unexpected ones become `internal` (and keep the cause for logs). */
export function asPolysocketError(err: unknown): PolysocketError {
  if (err instanceof PolysocketError) return err;
  const wrapped = new PolysocketError('internal');
  (wrapped as { cause?: unknown }).cause = err;
  return wrapped;
}
