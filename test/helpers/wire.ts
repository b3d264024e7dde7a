/**
 * A test client that speaks the wire protocol over real HTTP. `*.localhost` hosts are sent to
 * 127.0.0.1 with the original Host header, as a browser would resolve them.
 */
import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** the JSON inside (JSONP unwrapped) */
  body: any;
}

const JSONP = /^\/\*\*\/([A-Za-z0-9_$.]+)\(([\s\S]*)\);$/;

export function parseAnswer(status: number, headers: http.IncomingHttpHeaders, text: string): Answer {
  const m = JSONP.exec(text);
  let body: unknown;
  try {
    body = JSON.parse(m ? m[2] : text);
  } catch {
    body = undefined;
  }
  return { status, headers, text, body };
}

export function request(
  url: string,
  o: { method?: string; body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Answer> {
  const u = new URL(url);
  const host = u.hostname.endsWith('.localhost') || u.hostname === 'localhost' ? '127.0.0.1' : u.hostname;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port: u.port,
        path: u.pathname + u.search,
        method: o.method ?? 'GET',
        headers: { Host: u.host, ...(o.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(o.body)) } : {}), ...o.headers },
        signal: o.signal,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(parseAnswer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

export function qs(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  return q.toString();
}

export interface Opened {
  socket: string;
  url: string;
  fqdn: string;
  protocol: string;
  run: string;
}

/** 'accepted', or the error code a create (or any call rejecting with a code) failed with. */
export function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'accepted',
    (e: { code: string }) => e.code,
  );
}

/** /create over JSONP; throws with the error code when it fails. */
export async function create(
  routerBase: string,
  params: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<Opened> {
  const a = await request(`${routerBase}/create?${qs({ cb: 'cb', from: 'test-1', ...params })}`, { headers });
  if (!a.body?.ok) throw Object.assign(new Error(`create failed: ${a.text}`), { code: a.body?.error });
  return a.body;
}

export function poll(
  s: Opened,
  params: Record<string, string | number | undefined> = {},
  o: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return request(`${s.url}/j/${s.socket}?${qs({ cb: 'p', ...params })}`, o);
}

export function sendGet(
  s: Opened,
  params: Record<string, string | number | undefined>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return request(`${s.url}/s/${s.socket}?${qs({ cb: 's', ...params })}`, { headers });
}

export function sendPost(
  s: Opened,
  params: Record<string, string | number | undefined>,
  contentType = 'application/x-www-form-urlencoded',
): Promise<Answer> {
  return request(`${s.url}/s/${s.socket}`, { method: 'POST', body: qs(params), headers: { 'Content-Type': contentType } });
}

/** Polls (acking as it goes) until `count` data messages arrived or a close came; bounded. */
export async function collect(
  s: Opened,
  count: number,
  o: { ack?: number; maxPolls?: number } = {},
): Promise<{ messages: any[]; ack: number }> {
  let ack = o.ack ?? 0;
  const messages: any[] = [];
  for (let i = 0; i < (o.maxPolls ?? 50) && messages.length < count; i++) {
    const a = await poll(s, { ack, ttl: 2000 });
    if (!a.body?.ok) throw new Error(`poll failed: ${a.text}`);
    for (const m of a.body.messages) {
      if (m.type === 'heartbeat') continue;
      if (m.seq !== ack + 1) throw new Error(`seq ${m.seq} after ack ${ack}`);
      ack = m.seq;
      messages.push(m);
      if (m.type === 'close') return { messages, ack };
    }
  }
  return { messages, ack };
}
