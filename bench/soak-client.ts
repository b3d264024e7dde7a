/**
 * One soak socket: speaks the wire protocol as polysocket.js does (long-poll with `ack`,
 * batched POST sends with `n`, retries with the same ack/n and backoff, closed as 1006 after
 * `giveUpMs` of failing requests), and checks what the application sees: echoes
 * `e:<i>` of its own numbered sends and pushes `u:<k>` from the upstream, each exactly once and
 * in order.
 */
import type http from 'node:http';
import { httpRequest } from './clients/client';

export interface Counts {
  sent: number;
  echoes: number;
  pushes: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

export interface SoakSocketOptions {
  router: string;
  target: string;
  token: string;
  localAddress: string;
  agent: http.Agent;
  giveUpMs: number;
  pollTtlMs: number;
  onError(code: string): void;
}

type Answer = { status: number; body: any };

async function request(
  url: string,
  o: { method?: string; body?: string; localAddress: string; agent: http.Agent; timeoutMs: number },
): Promise<Answer> {
  const a = await httpRequest(url, o);
  try {
    return { status: a.status, body: JSON.parse(a.text) };
  } catch {
    throw new Error(`not JSON (${a.status})`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SoakSocket {
  readonly counts: Counts = { sent: 0, echoes: 0, pushes: 0, lost: 0, duplicated: 0, outOfOrder: 0 };
  url = '';
  socket = '';
  closed: { code: number; reason: string; at: number } | undefined;
  /** stopped on purpose: vanished (no close), or finished */
  quiet = false;
  stoppedAt: number | undefined;
  private ack = 0;
  private n = 1;
  private queue: string[] = [];
  private sending = false;
  private lastEcho = 0;
  private lastPush = 0;
  /** when the current run of failed requests began (0: the last request succeeded) */
  private failingSince = 0;

  constructor(private readonly o: SoakSocketOptions) {}

  /** /create; false (and the error counted) when refused. */
  async open(): Promise<boolean> {
    try {
      const a = await request(`${this.o.router}/create?from=soak&target=${encodeURIComponent(this.o.target)}&token=${this.o.token}`, {
        ...this.o,
        timeoutMs: 15_000,
      });
      if (!a.body.ok) {
        this.o.onError(a.body.error);
        return false;
      }
      this.url = a.body.url;
      this.socket = a.body.socket;
      void this.pollLoop();
      return true;
    } catch (err) {
      this.o.onError(`create:${(err as Error).message}`);
      return false;
    }
  }

  get live(): boolean {
    return !this.closed && !this.quiet && this.socket !== '';
  }

  sendNext(): void {
    if (!this.live) return;
    this.counts.sent++;
    this.send(`e:${this.counts.sent}`);
  }

  send(text: string): void {
    this.queue.push(text);
    void this.sendLoop();
  }

  /** Stops without closing: the relay must find out by itself (idle timeout). */
  vanish(): void {
    this.quiet = true;
  }

  /** Stops the upstream's pushes and waits until every echo and push is in; counts what never came. */
  async finish(timeoutMs: number): Promise<void> {
    if (!this.live) return;
    this.send('stop');
    const deadline = Date.now() + timeoutMs;
    while (this.live && (this.stoppedAt === undefined || this.lastEcho < this.counts.sent) && Date.now() < deadline) await sleep(20);
    if (this.stoppedAt !== undefined) this.counts.lost += Math.max(0, this.stoppedAt - this.lastPush);
    this.counts.lost += Math.max(0, this.counts.sent - this.lastEcho);
    this.quiet = true;
  }

  private failed(what: string): boolean {
    this.o.onError(what);
    // As polysocket.js: give up after giveUpMs of failing, counted from the first failure (not
    // from the last success: a poll held for its whole ttl and then cut is one failure, not five seconds of them).
    const now = Date.now();
    if (!this.failingSince) this.failingSince = now;
    if (now - this.failingSince > this.o.giveUpMs) {
      this.closed = { code: 1006, reason: '', at: Date.now() };
      return true;
    }
    return false;
  }

  private async pollLoop(): Promise<void> {
    let backoff = 50;
    while (this.live) {
      let a: Answer;
      try {
        a = await request(`${this.url}/j/${this.socket}?ttl=${this.o.pollTtlMs}&ack=${this.ack}`, {
          ...this.o,
          timeoutMs: this.o.pollTtlMs + 5000,
        });
      } catch (err) {
        if (this.failed(`poll:${(err as Error).message}`)) return;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      if (!this.live) return;
      if (!a.body.ok) {
        this.o.onError(a.body.error);
        this.closed = { code: 1006, reason: a.body.error, at: Date.now() };
        return;
      }
      backoff = 50;
      this.failingSince = 0;
      for (const m of a.body.messages) {
        if (!m.seq || m.seq <= this.ack) continue;
        this.ack = m.seq;
        if (m.type === 'close') {
          this.closed = { code: m.code, reason: m.reason, at: Date.now() };
          return;
        }
        if (m.type === 'text') this.receive(m.data);
      }
    }
  }

  private receive(data: string): void {
    const [kind, value] = data.split(':');
    const k = Number(value);
    if (kind === 'stopped') {
      this.stoppedAt = k;
      return;
    }
    const last = kind === 'e' ? this.lastEcho : this.lastPush;
    if (k === last + 1) {
      if (kind === 'e') this.counts.echoes++;
      else this.counts.pushes++;
    } else if (k <= last) {
      if (k === last) this.counts.duplicated++;
      else this.counts.outOfOrder++;
      return;
    } else {
      this.counts.lost += k - last - 1;
    }
    if (kind === 'e') this.lastEcho = k;
    else this.lastPush = k;
  }

  private async sendLoop(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    let backoff = 50;
    while (this.queue.length && !this.closed && this.socket) {
      // up to 200 messages or ~512 KB per request, always at least one
      let body = `n=${this.n}`;
      const batch: string[] = [];
      for (const m of this.queue) {
        if (batch.length && (batch.length >= 200 || body.length + m.length > 512_000)) break;
        batch.push(m);
        body += `&t=t&d=${encodeURIComponent(m)}`;
      }
      let a: Answer;
      try {
        a = await request(`${this.url}/s/${this.socket}`, { ...this.o, method: 'POST', body, timeoutMs: 10_000 });
      } catch (err) {
        if (this.failed(`send:${(err as Error).message}`)) break;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
        continue; // the same n: taken once, whatever happened to the answer
      }
      backoff = 50;
      if (!a.body.ok) {
        this.o.onError(a.body.error);
        const taken = typeof a.body.expected === 'number' ? a.body.expected - this.n : 0;
        this.queue.splice(0, Math.max(0, taken));
        this.n += Math.max(0, taken);
        break; // the poll tells how the socket ended
      }
      this.failingSince = 0;
      this.queue.splice(0, batch.length);
      this.n += batch.length;
    }
    this.sending = false;
  }
}
