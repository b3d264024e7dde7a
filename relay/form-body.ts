/**
 * A send's POST body (docs/PROTOCOL.md §4): form fields whatever the content type (XDomainRequest
 * can only send text/plain), bounded by MAX_BODY_BYTES and, through MAX_BATCH_SENDS, in fields.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import { PolysocketError } from '../shared/errors';

/** A POST body (any content type: XDomainRequest sends text/plain) as form fields, over the query. */
export function readForm(
  req: IncomingMessage,
  limit: number,
  maxFields: number,
  query: ParsedUrlQuery,
  done: (err: PolysocketError | undefined, fields: ParsedUrlQuery) => void,
): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    done(new PolysocketError('body_too_large'), query);
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) over = true;
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (over) return done(new PolysocketError('body_too_large'), query);
    // maxKeys 0: a batch has thousands of fields; the body bound already limits them.
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    // Count the fields before parsing them: a body of a million empty fields is refused for the
    // price of one scan, not of building a million-key object.
    if (fieldCount(body, maxFields) > maxFields) {
      return done(new PolysocketError('bad_parameter', `a request carries at most ${maxFields} fields`), query);
    }
    const form = parseQuery(body.toString('utf8'), '&', '=', { maxKeys: 0 });
    // The body's fields win over the query's (the query usually carries only cb, if anything).
    for (const k in query) if (!(k in form)) form[k] = query[k];
    done(undefined, form);
  });
  req.on('error', () => done(new PolysocketError('bad_parameter', 'request body could not be read'), query));
}

/** Fields in a form body (separators plus one), counting no further than `stopAfter` + 1. */
function fieldCount(body: Buffer, stopAfter: number): number {
  let n = 1;
  for (let i = body.indexOf(0x26); i >= 0 && n <= stopAfter; i = body.indexOf(0x26, i + 1)) n++;
  return n;
}
