/**
 * What the benchmark drives: a connected echo client of some protocol. Raw protocol clients,
 * not the peers' official ones (those add delays of their own: sockjs-client polls at ~27 ms).
 */
import http from 'node:http';

export interface BenchClient {
  /** queues messages; polling clients send everything queued in one request, one request at a time */
  send(messages: string[]): void;
  /** every message received, in order */
  onMessage: (data: string) => void;
  close(): Promise<void>;
}

/** Keep-alive, as browsers do; polls and sends each get their own connection. */
export const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 100000 });

export interface HttpAnswer {
  status: number;
  text: string;
}

/**
 * `host` may be a *.localhost name: it is dialled at 127.0.0.1 with its Host header.
 * `localAddress` spreads connections over 127.0.0.x source addresses (ports would run out on one).
 */
export function httpRequest(
  url: string,
  o: { method?: string; body?: string; contentType?: string; agent?: http.Agent; localAddress?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: u.port,
        path: u.pathname + u.search,
        method: o.method ?? 'GET',
        agent: o.agent ?? agent,
        localAddress: o.localAddress,
        headers: {
          Host: u.host,
          ...(o.body !== undefined ? { 'Content-Type': o.contentType ?? 'text/plain', 'Content-Length': Buffer.byteLength(o.body) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    if (o.timeoutMs) req.setTimeout(o.timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/** Sends queued messages one request at a time, each request taking all that is queued (bounded). */
export class Batcher {
  private queue: string[] = [];
  private busy = false;
  closed = false;

  constructor(
    private readonly post: (batch: string[]) => Promise<void>,
    // as polysocket.js batches (the relay takes at most MAX_BATCH_SENDS, 500 by default)
    private readonly maxBatch = 500,
  ) {}

  push(messages: string[]): void {
    for (const m of messages) this.queue.push(m);
    this.pump();
  }

  private pump(): void {
    if (this.busy || this.closed || this.queue.length === 0) return;
    this.busy = true;
    const batch = this.queue.splice(0, this.maxBatch);
    this.post(batch).then(
      () => {
        this.busy = false;
        this.pump();
      },
      (err: Error) => {
        this.busy = false;
        if (!this.closed) process.stderr.write(`send failed: ${err.message}\n`);
      },
    );
  }
}
