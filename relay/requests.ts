/**
 * The fields of `/j` and `/s` requests (docs/PROTOCOL.md §3, §4) turned into values the session
 * takes: pure, no I/O, one error code per kind of bad input. The batch rules of §4.5 live here.
 */
import { PolysocketError } from '../shared/errors';
import { intParam, param, type Fields } from '../shared/params';
import type { SendParams } from './inbox';

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export interface PollParams {
  /** last seq the client has; undefined: whatever the previous answer carried (seed clients) */
  ack: number | undefined;
  /** longest wait in ms, before the relay's cap (a stream's heartbeat interval) */
  ttlMs: number | undefined;
  /** §3.4 `stream=1`: a streamed receive, not a poll */
  stream: boolean;
}

/** §3: `ttl` and `ack`; §3.4: `stream` (1, or 0 / absent for a poll), never with `cb`. */
export function parsePoll(q: Fields): PollParams {
  const stream = param(q, 'stream');
  if (stream !== undefined && stream !== '0' && stream !== '1') throw new PolysocketError('bad_parameter', 'stream must be 1 or 0');
  const cb = param(q, 'cb');
  if (stream === '1' && cb !== undefined && cb !== '') throw new PolysocketError('stream_not_jsonp');
  return { ttlMs: intParam(q, 'ttl', 0, MAX_SEQ, 'bad_ttl'), ack: intParam(q, 'ack', 0, MAX_SEQ, 'bad_ack'), stream: stream === '1' };
}

/** Every value of a parameter (repeated ones included), in order. */
function all(q: Fields, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

/**
 * §4 and §4.5: one send, or a batch: `d` and `t` repeated k times (pairwise, in order) with one
 * `n` for the first, the rest taking n+1, n+2, ...; a close (t=c) may only come last, chunks (c)
 * not at all. At most `maxItems` sends in one request.
 */
export function parseSends(q: Fields, maxItems = Number.POSITIVE_INFINITY): SendParams[] {
  const ds = all(q, 'd');
  const ts = all(q, 't');
  if (ts.length === 1 && ts[0] === 'l') return [{ d: '', t: 'l', c: false }];
  if (ds.length <= 1 && ts.length <= 1) return [sendParams(q, ds[0], ts[0] ?? 't', intParam(q, 'n', 1, MAX_SEQ))];
  if (ds.length !== ts.length) throw new PolysocketError('bad_parameter', 'a batch gives d and t the same number of times');
  if (ds.length > maxItems) throw new PolysocketError('bad_parameter', `a batch holds at most ${maxItems} sends`);
  const n = intParam(q, 'n', 1, MAX_SEQ);
  if (n === undefined) throw new PolysocketError('bad_parameter', 'a batch needs n (the n of its first send)');
  if (param(q, 'c') === '1') throw new PolysocketError('bad_parameter', 'a batch cannot carry chunks');
  const sends: SendParams[] = new Array(ds.length);
  for (let i = 0; i < ds.length; i++) {
    if (ts[i] === 'c' && i !== ds.length - 1) throw new PolysocketError('bad_parameter', 'a close may only end a batch');
    if (ts[i] === 'l') throw new PolysocketError('bad_parameter', 'a leave (t=l) comes alone');
    sends[i] = sendParams(q, ds[i], ts[i], n + i);
  }
  return sends;
}

function sendParams(q: Fields, d: string | undefined, t: string, n: number | undefined): SendParams {
  if (t !== 't' && t !== 'b' && t !== 'c') throw new PolysocketError('bad_parameter', 't must be t (text), b (base64 binary) or c (close)');
  if (d === undefined && t !== 'c') throw new PolysocketError('bad_parameter', 'd (the data) is required');
  const c = param(q, 'c');
  if (c !== undefined && c !== '0' && c !== '1') throw new PolysocketError('bad_parameter', 'c must be 1 (more chunks follow) or 0');
  return {
    d: d ?? '',
    t,
    n,
    c: c === '1',
    code: t === 'c' ? intParam(q, 'code', 0, 65535, 'bad_parameter') : undefined,
    reason: t === 'c' ? param(q, 'reason') : undefined,
  };
}
