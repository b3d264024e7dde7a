/**
 * An HTTP proxy on loopback that forwards to `target` but can lose answers: the request reaches
 * the server (so it acts on it), then the client's connection is cut instead of answered.
 * (`tc netem` does not work here; this is the fault injector.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LossyProxy {
  port: number;
  target: { port: number };
  /** decides, per request, whether its answer is lost; `nth` counts requests of that path kind from 1 */
  /** `nth`: the count of `kind` since the last reset; `url`: the request's path and query */
  drop: (kind: 'j' | 's' | 'other', nth: number, url: string) => boolean;
  dropped: { j: number; s: number; other: number };
  /** the request URLs seen since the last reset */
  urls: string[];
  /** forwards everything again and restarts the counts */
  reset(): void;
  close(): Promise<void>;
}

export async function startLossyProxy(): Promise<LossyProxy> {
  const counts = { j: 0, s: 0, other: 0 };
  const proxy: LossyProxy = {
    port: 0,
    target: { port: 0 },
    drop: () => false,
    dropped: { j: 0, s: 0, other: 0 },
    urls: [],
    reset: () => {
      proxy.urls = [];
      proxy.drop = () => false;
      counts.j = counts.s = counts.other = 0;
      proxy.dropped = { j: 0, s: 0, other: 0 };
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const kind = req.url?.startsWith('/j/') ? 'j' : req.url?.startsWith('/s/') ? 's' : 'other';
    const nth = ++counts[kind];
    proxy.urls.push(req.url ?? '');
    const lose = proxy.drop(kind, nth, req.url ?? '');
    const upstream = http.request(
      { host: '127.0.0.1', port: proxy.target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        if (lose) {
          proxy.dropped[kind]++;
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.port = (server.address() as AddressInfo).port;
  return proxy;
}
