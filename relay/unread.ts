/**
 * docs/PROTOCOL.md §3.3 unread answers: an answer (a poll's, or an ended stream's) its client does
 * not read within the write timeout is dropped with its connection; the messages stay until acked.
 */
import type { ServerResponse } from 'node:http';

export function dropIfUnread(res: ServerResponse, ms: number): void {
  const timer = setTimeout(destroyResponse, ms, res);
  res.once('finish', () => clearTimeout(timer));
}

function destroyResponse(res: ServerResponse): void {
  res.destroy();
}
