/**
 * docs/PROTOCOL.md §3.4: a streamed receive as HTTP. One 200 answer of unknown length: a prelude
 * (padding and a newline, so browsers that hold back the first bytes of a response, as
 * XDomainRequest does, show progress at once, and a client can tell a proxy that buffers whole
 * responses), then one line per batch, each written as the outbox's bytes between an envelope
 * written around them, in one write (corked), nothing copied.
 */
import type { ServerResponse } from 'node:http';
import type { HeaderList } from '../shared/respond';
import type { StreamReceiver } from './session';
import { dropIfUnread } from './unread';

const NO_STORE = 'no-store, no-cache, must-revalidate, max-age=0';
const STREAM_HEADERS = [
  'Content-Type',
  'text/plain; charset=utf-8',
  'Cache-Control',
  NO_STORE,
  'Pragma',
  'no-cache',
  'X-Content-Type-Options',
  'nosniff',
  // nginx and the proxies that honour it pass the stream on as it comes
  'X-Accel-Buffering',
  'no',
];
/** 2,048 spaces and a newline: a line of whitespace, which clients skip */
export const STREAM_PRELUDE = Buffer.from(`${' '.repeat(2048)}\n`);
const LINE_HEAD = Buffer.from('{"ok":true,"messages":[');
const LINE_TAIL = Buffer.from(']}\n');
const RENEW = Buffer.from('{"ok":true,"messages":[],"renew":true}\n');

/** Starts the stream's answer (headers and prelude go out at once) and returns what the session writes to. */
export function streamAnswer(res: ServerResponse, allow: HeaderList, writeTimeoutMs: number): StreamReceiver {
  res.writeHead(200, STREAM_HEADERS.concat(allow));
  res.write(STREAM_PRELUDE);
  let told = 0;
  return {
    write(messages, taken) {
      if (res.writableEnded) return;
      res.cork();
      // `n` only when it changed: a stream of pushes writes no string of its own per line
      if (taken === told) res.write(LINE_HEAD);
      else {
        told = taken;
        res.write(`{"ok":true,"n":${taken},"messages":[`);
      }
      if (messages.length > 0) res.write(messages);
      res.write(LINE_TAIL);
      res.uncork();
    },
    renew() {
      if (!res.writableEnded) res.write(RENEW);
    },
    end() {
      if (res.writableEnded) return false;
      res.end();
      if ((res.socket?.writableLength ?? 0) === 0) return false;
      // An end the client does not read (its TCP window stays shut) is dropped, connection and all.
      dropIfUnread(res, writeTimeoutMs);
      return true;
    },
    drop() {
      res.destroy();
    },
  };
}
