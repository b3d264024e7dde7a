/**
 * The relay's HTTP face: parse a request, make one call on the relay, write what comes back. No
 * protocol rule lives here (requests.ts parses, session.ts decides). This is the per-message
 * path, so it is plain node:http (no router, no middleware); everything else a relay serves goes
 * through express.
 *   GET  /j/<socket>?cb&ttl&ack            long-poll
 *   GET  /j/<socket>?stream=1&ttl&ack      streamed receive (CORS only)
 *   GET  /s/<socket>?cb&d&t&n&c&code&reason send (JSONP)
 *   POST /s/<socket>   body d&t&n&c&...     send (form-encoded or text/plain)
 *   OPTIONS on both                         CORS preflight
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import type { Config } from '../shared/config';
import { PolysocketError } from '../shared/errors';
import { requestOrigin } from '../shared/origin';
import { checkUrlLength } from '../shared/params';
import { JSONP_TAIL, jsonpHead } from '../shared/jsonp';
import { answerError, callbackOf, type HeaderList, sendOk } from '../shared/respond';
import { corsHeaders, preflight } from './cors';
import { readForm } from './form-body';
import type { Relay } from './relay';
import { parsePoll, parseSends } from './requests';
import type { PollWaiter, SendAnswer, Session } from './session';
import { streamAnswer } from './stream-answer';
import { dropIfUnread } from './unread';

const ROUTE = /^\/([js])\/([^/]*)$/;

export type RelayHttpConfig = Pick<Config, 'maxUrlBytes' | 'maxBodyBytes' | 'maxBatchSends' | 'answerWriteTimeoutMs'>;

/** Handles /j/<id> and /s/<id>; returns false for any other path (the caller's express app takes it). */
export function relayHandler(relay: Relay, c: RelayHttpConfig): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = ROUTE.exec(q < 0 ? url : url.slice(0, q));
    if (!route) return false;
    const id = route[2];
    const query = q < 0 ? {} : parseQuery(url.slice(q + 1), '&', '=', { maxKeys: 0 });
    const allow = corsHeaders(req);
    try {
      checkUrlLength(url, c.maxUrlBytes);
      if (req.method === 'OPTIONS') preflight(res, allow);
      else if (route[1] === 'j' && req.method === 'GET') poll(relay, id, req, res, query, allow, c);
      else if (route[1] === 's' && req.method === 'GET') send(relay.sessionFor(id, requestOrigin(req)), res, query, allow, c);
      else if (route[1] === 's' && req.method === 'POST') {
        // Not a byte of the body is read for a socket that does not exist or is another origin's.
        const session = relay.sessionFor(id, requestOrigin(req));
        // d and t per send, plus n, cb and room for fields a newer client may add
        readForm(req, c.maxBodyBytes, 2 * c.maxBatchSends + 16, query, (err, fields) => {
          try {
            if (err) throw err;
            send(session, res, fields, allow, c);
          } catch (e) {
            answerError(res, query, e, allow);
          }
        });
      } else throw new PolysocketError('method_not_allowed');
    } catch (err) {
      answerError(res, query, err, allow);
    }
    return true;
  };
}

function poll(
  relay: Relay,
  id: string,
  req: IncomingMessage,
  res: ServerResponse,
  query: ParsedUrlQuery,
  allow: HeaderList,
  c: RelayHttpConfig,
): void {
  const cb = callbackOf(query);
  const p = parsePoll(query);
  if (p.stream) {
    const { session, receiver } = relay.stream(id, requestOrigin(req), p, () => streamAnswer(res, allow, c.answerWriteTimeoutMs));
    // 'close' comes after this turn even for a stream that already ended (a socket that had closed)
    res.on('close', () => session.streamEnded(receiver));
    return;
  }
  let unread = false;
  const waiter: PollWaiter = {
    answer(messages) {
      if (res.writableEnded) return false;
      writeAnswer(res, cb, messages, allow);
      if ((res.socket?.writableLength ?? 0) === 0) return false;
      // An answer the client does not read (its TCP window stays shut) is dropped, connection and all.
      dropIfUnread(res, c.answerWriteTimeoutMs);
      unread = true;
      return true;
    },
    drop() {
      res.destroy();
    },
  };
  const session = relay.poll(id, requestOrigin(req), p, waiter);
  // held, or answered and not read yet: the session hears when the request is over
  if (!res.writableEnded || unread) res.on('close', () => session.pollEnded(waiter));
}

function send(session: Session, res: ServerResponse, fields: ParsedUrlQuery, allow: HeaderList, c: RelayHttpConfig): void {
  const cb = callbackOf(fields);
  const cancel = session.send(parseSends(fields, c.maxBatchSends), (a: SendAnswer) => {
    if (!res.writableEnded) sendOk(res, cb, a.duplicate ? { ok: true, n: a.n, duplicate: true } : { ok: true, n: a.n }, 201, allow);
  });
  if (!res.writableEnded) res.on('close', cancel);
}

// What shared/respond.ts sends with every answer (docs/PROTOCOL.md §1), for the poll answer that
// is written in parts; a poll answer is always 200.
const NO_STORE = 'no-store, no-cache, must-revalidate, max-age=0';
const COMMON = ['Cache-Control', NO_STORE, 'Pragma', 'no-cache', 'X-Content-Type-Options', 'nosniff'];
const JSONP_HEADERS = [...COMMON, 'Content-Type', 'application/javascript; charset=utf-8'];
const JSON_HEADERS = [...COMMON, 'Content-Type', 'application/json; charset=utf-8'];
const ANSWER_HEAD = '{"ok":true,"messages":[';
const ANSWER_TAIL = ']}';
const JSONP_ANSWER_TAIL = ANSWER_TAIL + JSONP_TAIL;

/**
 * `{"ok":true,"messages":[<messages>]}` (JSONP when `cb`), with `messages` written as the Buffer
 * it is: the callback and the envelope go around it, so the answer holds no copy of the messages
 * of its own. The length is known, so the answer is one Content-Length body, sent in one write
 * (end() uncorks).
 */
function writeAnswer(res: ServerResponse, cb: string | undefined, messages: Buffer, allow: HeaderList): void {
  const head = cb ? jsonpHead(cb) + ANSWER_HEAD : ANSWER_HEAD;
  const tail = cb ? JSONP_ANSWER_TAIL : ANSWER_TAIL;
  // head and tail are ASCII: their lengths are their byte lengths
  const length = String(head.length + messages.length + tail.length);
  res.writeHead(200, (cb ? JSONP_HEADERS : JSON_HEADERS).concat('Content-Length', length, allow));
  res.cork();
  res.write(head);
  if (messages.length > 0) res.write(messages);
  res.end(tail);
}
