/**
 * docs/PROTOCOL.md §5: every /s and /j answer may be read cross-origin (CORS XHR, XDomainRequest);
 * the socket's own origin binding (Relay.sessionFor) is what guards it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderList } from '../shared/respond';

const ANY_ORIGIN: HeaderList = ['Access-Control-Allow-Origin', '*', 'Vary', 'Origin'];

/** Echoes the request's Origin (any origin for requests without one). */
export function corsHeaders(req: IncomingMessage): HeaderList {
  const origin = req.headers.origin;
  return typeof origin === 'string' && origin !== 'null' ? ['Access-Control-Allow-Origin', origin, 'Vary', 'Origin'] : ANY_ORIGIN;
}

export function preflight(res: ServerResponse, allow: HeaderList): void {
  res.writeHead(
    204,
    allow.concat(
      'Access-Control-Allow-Methods',
      'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers',
      'Content-Type',
      'Access-Control-Max-Age',
      '600',
    ),
  );
  res.end();
}
