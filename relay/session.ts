/**
 * One tunnelled WebSocket: the upstream connection, the outbox (to the client, by seq), the
 * inbox (from the client, by n), the pending poll and the timers. It knows nothing of HTTP:
 * a poll is a `PollWaiter` the HTTP layer hands in.
 *
 * Lifecycle: open -> (client close | upstream close | overflow | idle | drain) -> closed.
 * A closed session lingers, holding its `close` message, until the client acks it or stops
 * polling (idle timeout), so a lost poll answer cannot lose the close either.
 */
import type WebSocket from 'ws';
import { PolysocketError } from '../shared/errors';
import type { TrafficStats } from '../shared/metrics';
import { Inbox, type InboxLimits, type SendParams } from './inbox';
import { Outbox } from './outbox';
import { corked, whenWritable } from './upstream';

export interface PollWaiter {
  /** Writes `{"ok":true,"messages":<messagesJson>}` to the client. Called at most once. */
  answer(messagesJson: string): void;
}

export interface SessionLimits extends InboxLimits {
  maxBufferedBytes: number;
  pollMaxTtlMs: number;
  idleTimeoutMs: number;
  /** a send held longer than this (the upstream is not reading) closes the socket with 1008 */
  upstreamStallMs: number;
}

export interface SessionInfo {
  id: string;
  uniq: string;
  target: string;
  origin: string;
  from: string;
  slotKey?: string;
}

export interface SessionHooks {
  /** The upstream is gone: the socket stops counting towards the relay's load. */
  onUpstreamClosed(session: Session, code: number, reason: string): void;
  /** Forget this session entirely. */
  onRemoved(session: Session): void;
  /** the relay's traffic counters, bumped per message */
  stats: TrafficStats;
}

const HEARTBEAT = '[{"type":"heartbeat"}]';
const EMPTY = '[]';

/**
 * Sessions with messages for a waiting poll. ws emits every message of one socket read in one
 * synchronous callback; flushing after it (one microtask for all sessions) puts them in one answer.
 */
const toFlush: Session[] = [];
const RESOLVED = Promise.resolve();
// The session rides in the timer's arguments: no closure kept per session.
function onSessionTimer(session: Session): void {
  session.onTimer();
}

function flushAll(): void {
  // Index loop: a flush may (in principle) schedule another; it is taken in this same round.
  for (let i = 0; i < toFlush.length; i++) toFlush[i].flush();
  toFlush.length = 0;
}

export const enum SessionState {
  Open,
  Closing,
  Closed,
}

export class Session {
  state = SessionState.Open;
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  private waiter: PollWaiter | undefined;
  /**
   * One timer per session, re-armed lazily: `deadline` is when the current wait ends (the poll's
   * ttl while a poll waits, the idle timeout otherwise); the timer may fire early and re-arm for
   * the rest, so the per-message path never touches the timer list.
   */
  private deadline = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private flushScheduled = false;
  /** seq of the close message, once queued */
  private closeSeq = 0;
  private removed = false;
  /** reading from the upstream is paused until the client acks its backlog down */
  private paused = false;
  /** sends whose answers wait for the upstream to read (released when it does, or on close) */
  private heldSends: Set<() => void> | undefined; // created on first use: most sockets never hold a send

  constructor(
    readonly info: SessionInfo,
    private readonly upstream: WebSocket,
    private readonly limits: SessionLimits,
    private readonly hooks: SessionHooks,
  ) {
    this.outbox = new Outbox(limits.maxBufferedBytes);
    this.inbox = new Inbox(limits);
    upstream.on('message', (data: Buffer, isBinary: boolean) => this.onUpstreamMessage(data, isBinary));
    upstream.on('close', (code: number, reason: Buffer) => this.onUpstreamClose(code, reason.toString()));
    // 'close' always follows 'error'; the error itself is reported through the close code (1006).
    upstream.on('error', () => undefined);
    this.waitIdle();
  }

  /**
   * Lets the upstream flow, once the relay has registered this session. connectUpstream hands
   * the socket over paused, so nothing it received was emitted unheard; only a connection that
   * died in between is already closed, and that ended abnormally.
   */
  start(): void {
    if (this.upstream.readyState === this.upstream.CLOSED) this.onUpstreamClose(1006, '');
    else this.upstream.resume();
  }

  get id(): string {
    return this.info.id;
  }

  /** a poll is waiting for messages */
  get polling(): boolean {
    return this.waiter !== undefined;
  }

  /** bytes written to the upstream and not yet taken by its TCP connection */
  get upstreamBacklog(): number {
    return this.upstream.bufferedAmount;
  }

  get protocol(): string {
    return this.upstream.protocol;
  }

  /** A long-poll. `ack` = last seq the client has (undefined: whatever the last poll delivered). */
  poll(ack: number | undefined, ttlMs: number, waiter: PollWaiter): void {
    if (ack !== undefined && ack > this.outbox.lastSeq) {
      throw new PolysocketError('bad_ack', `ack=${ack} is beyond the last seq sent (${this.outbox.lastSeq})`);
    }
    this.outbox.ack(ack ?? this.outbox.deliveredSeq);
    if (this.paused && this.outbox.bufferedBytes <= this.limits.maxBufferedBytes / 4) {
      this.paused = false;
      this.upstream.resume();
    }
    if (this.closeSeq && (ack ?? this.outbox.deliveredSeq) >= this.closeSeq) {
      // The client has the close: nothing more to keep.
      this.remove();
      throw new PolysocketError('unknown_socket');
    }
    this.release(EMPTY); // one poll at a time: a newer poll answers the older one at once
    if (this.outbox.size > 0) {
      this.hooks.stats.pollsWithMessages++;
      waiter.answer(this.outbox.takeAll());
      this.waitIdle();
      return;
    }
    this.waiter = waiter;
    this.waitUntil(performance.now() + Math.min(ttlMs, this.limits.pollMaxTtlMs));
  }

  /** The HTTP request behind `waiter` went away before it was answered. */
  cancelPoll(waiter: PollWaiter): void {
    if (this.waiter !== waiter) return;
    this.waiter = undefined;
    this.waitIdle();
  }

  /** A send from the client. Returns whether it was new (false: a repeated n, acknowledged again). */
  send(p: SendParams): boolean {
    if (this.state !== SessionState.Open) throw new PolysocketError('unknown_socket');
    const r = this.inbox.accept(p);
    switch (r.kind) {
      case 'duplicate':
        return false;
      case 'partial':
        return true;
      case 'close':
        this.state = SessionState.Closing;
        this.upstream.close(r.code, r.reason);
        return true;
      default: {
        const size = typeof r.data === 'string' ? Buffer.byteLength(r.data) : r.data.length;
        if (this.upstream.bufferedAmount + size > this.limits.maxBufferedBytes) {
          this.closeBoth(1009, 'upstream is not reading');
          throw new PolysocketError('upstream_backlog');
        }
        this.upstream.send(r.data, { binary: r.kind === 'binary' });
        this.hooks.stats.messagesToUpstream++;
        this.hooks.stats.bytesToUpstream += size;
        return true;
      }
    }
  }

  /** Several sends, leaving for the upstream in one write. Returns how many were new. */
  sendBatch(batch: readonly SendParams[]): number {
    return corked(this.upstream, () => {
      let fresh = 0;
      for (const p of batch) if (this.send(p)) fresh++;
      return fresh;
    });
  }

  /**
   * Backpressure for sends: `done` runs once the upstream's write backlog is under a quarter of
   * the bound (at once, normally). The HTTP layer answers the send then, so a client that sends
   * faster than the upstream reads is slowed down instead of failing.
   */
  whenUpstreamWritable(done: () => void): () => void {
    if (this.closeSeq || this.upstream.bufferedAmount <= this.limits.maxBufferedBytes / 2) {
      done();
      return () => undefined;
    }
    const finish = () => {
      this.heldSends?.delete(finish);
      clearTimeout(stalled);
      cancel();
      done();
    };
    const cancel = whenWritable(this.upstream, this.limits.maxBufferedBytes / 4, finish);
    // An upstream that stops reading for good must not hold the socket forever.
    const stalled = setTimeout(() => this.closeBoth(1008, 'upstream is not reading'), this.limits.upstreamStallMs);
    (this.heldSends ??= new Set()).add(finish);
    return () => {
      this.heldSends?.delete(finish);
      clearTimeout(stalled);
      cancel();
    };
  }

  /** Closes from the relay's side: the client gets `close` with this code, the upstream too. */
  closeBoth(code: number, reason: string): void {
    if (this.closeSeq) return;
    this.queueClose(code, reason);
    if (this.upstream.readyState === this.upstream.OPEN || this.upstream.readyState === this.upstream.CONNECTING) {
      this.upstream.close(code, reason);
    }
  }

  /** Drops everything now (shutdown, or the relay forgetting the session). */
  destroy(): void {
    this.remove();
    if (this.upstream.readyState !== this.upstream.CLOSED) this.upstream.terminate();
  }

  private onUpstreamMessage(data: Buffer, isBinary: boolean): void {
    if (this.closeSeq) return; // the client was already told the socket closed
    // While paused, what still arrives is the rest of reads already made (at most one socket
    // read plus one partial frame): taken past the bound, so pausing never costs a message.
    const ok = isBinary ? this.outbox.pushBinary(data, this.paused) : this.outbox.pushText(data.toString('utf8'), this.paused);
    this.hooks.stats.messagesToClient++;
    this.hooks.stats.bytesToClient += data.length;
    if (!ok) {
      // Never drop silently: the client learns the socket closed and why.
      this.closeBoth(1009, 'client is not keeping up');
      return;
    }
    if (!this.paused && this.outbox.bufferedBytes > this.limits.maxBufferedBytes / 2) {
      // Flow control: let TCP push back on the upstream rather than hit the bound.
      this.paused = true;
      this.upstream.pause();
    }
    this.scheduleFlush();
  }

  private onUpstreamClose(code: number, reason: string): void {
    this.queueClose(code, reason);
    this.hooks.onUpstreamClosed(this, code, reason);
  }

  private queueClose(code: number, reason: string): void {
    if (this.closeSeq) return;
    this.state = SessionState.Closed;
    this.closeSeq = this.outbox.pushClose(code, reason);
    // Held sends were taken; the socket's end answers them (the close tells the rest).
    if (this.heldSends) for (const release of [...this.heldSends]) release();
    this.scheduleFlush();
  }

  /**
   * Coalesces the messages ws emits from one socket read (synchronously, in one callback) into
   * one poll answer: a microtask runs right after that callback, without waiting a loop turn.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || !this.waiter) return;
    this.flushScheduled = true;
    if (toFlush.push(this) === 1) void RESOLVED.then(flushAll);
  }

  /** @internal (flushAll) */
  flush(): void {
    this.flushScheduled = false;
    if (this.waiter && this.outbox.size > 0) this.release(this.outbox.takeAll());
  }

  private release(messagesJson: string): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    const stats = this.hooks.stats;
    if (messagesJson === HEARTBEAT) stats.pollsHeartbeat++;
    else if (messagesJson === EMPTY) stats.pollsEmpty++;
    else stats.pollsWithMessages++;
    waiter.answer(messagesJson);
    this.waitIdle();
  }

  /** No poll waits: the socket is closed if none comes within the idle timeout. */
  private waitIdle(): void {
    this.waitUntil(performance.now() + this.limits.idleTimeoutMs);
  }

  private waitUntil(deadline: number): void {
    if (this.removed) return;
    this.deadline = deadline;
    if (deadline < this.timerAt) this.armTimer(deadline);
  }

  private armTimer(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(onSessionTimer, Math.max(0, at - performance.now()), this);
  }

  /** @internal (onSessionTimer) */
  onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.removed) return;
    // Timers fire on whole milliseconds; under one to go counts as due.
    if (this.deadline - performance.now() >= 1) return this.armTimer(this.deadline);
    if (this.waiter) this.release(HEARTBEAT);
    else this.onIdle();
  }

  private onIdle(): void {
    if (this.upstream.readyState === this.upstream.OPEN || this.upstream.readyState === this.upstream.CONNECTING) {
      this.upstream.close(1001, 'client stopped polling');
    }
    this.remove();
  }

  private remove(): void {
    if (this.removed) return;
    this.removed = true;
    clearTimeout(this.timer);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.answer(EMPTY);
    }
    this.hooks.onRemoved(this);
  }
}
