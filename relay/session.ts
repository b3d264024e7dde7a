/**
 * One tunnelled WebSocket: the upstream connection, the outbox (to the client, by seq), the
 * inbox (from the client, by n), the pending poll and the timers. It knows nothing of HTTP: the
 * HTTP layer parses a request, makes one call here (`poll` or `send`) and writes what comes back.
 *
 * Lifecycle, one state field, moved forward only:
 *   Open     sends and polls flow
 *   Closing  the client's close (t=c) went upstream; waiting for the upstream's answer
 *   Closed   the `close` message is queued (at `closeSeq`): the session lingers until the client
 *            acks it or stops polling, so a lost poll answer cannot lose the close either
 *   Removed  forgotten: every timer cleared, the waiting poll answered, reported once
 * The upstream's own end is tracked apart (`upstreamDone`): a relay-side close stops counting the
 * socket at once and gives the upstream `upstreamCloseTimeoutMs` to finish its handshake.
 */
import type WebSocket from 'ws';
import { PolysocketError } from '../shared/errors';
import type { TrafficStats } from '../shared/metrics';
import { Inbox, type InboxLimits, type SendParams } from './inbox';
import { Outbox } from './outbox';
import { corked } from './upstream';

export interface PollWaiter {
  /**
   * Writes `{"ok":true,"messages":[<messages>]}` to the client; `messages` (the array's elements,
   * comma separated) are the outbox's own bytes, shared with other answers, so they are written
   * as they are, never changed. Called at most once. True when the client has not taken all of it
   * yet (it waits in the relay's buffers): the session then keeps it as the socket's unread answer
   * until told `pollEnded`.
   */
  answer(messages: Buffer): boolean;
  /** Cuts the connection of an answer the client has not read (§3.3: a newer one replaced it). */
  drop(): void;
}

/**
 * A streamed receive (docs/PROTOCOL.md §3.4): one HTTP answer the session writes batches of
 * messages to as they arrive, until it ends the stream.
 */
export interface StreamReceiver {
  /**
   * Writes one line `{"ok":true,"n":<taken>,"messages":[<messages>]}`; the bytes are the outbox's own,
   * as for `answer`. `taken`: the n of the last send the relay took (0: none), so a client learns its
   * sends were taken as soon as what they caused comes back, even before their own answers.
   */
  write(messages: Buffer, taken: number): void;
  /** Writes the line `{"ok":true,"messages":[],"renew":true}`: the client should open the next stream now. */
  renew(): void;
  /** Ends the answer. True when the client has not taken all of it yet, as `PollWaiter.answer`. */
  end(): boolean;
  /** Cuts the connection of an ended stream the client has not read (§3.3). */
  drop(): void;
}

/** What a send's answer says (§4): the `n` of its last send, and whether all of it was a repeat. */
export interface SendAnswer {
  n: number | null;
  duplicate: boolean;
}

export type SendReply = (answer: SendAnswer) => void;

export interface SessionLimits extends InboxLimits {
  maxBufferedBytes: number;
  pollMaxTtlMs: number;
  idleTimeoutMs: number;
  /** a send held longer than this (the upstream is not reading) closes the socket with 1008 */
  upstreamStallMs: number;
  /** how long an upstream gets to answer a close before its connection is cut */
  upstreamCloseTimeoutMs: number;
  /** a stream that wrote this many bytes of messages (all unacked: acks come with requests) ends (§3.4) */
  streamMaxBytes: number;
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
  /** The upstream is gone (or being closed by the relay): the socket stops counting towards the relay's load. Called once. */
  onUpstreamClosed(session: Session, code: number, reason: string): void;
  /** Forget this session entirely. Called once. */
  onRemoved(session: Session): void;
  /** the relay's traffic counters, bumped per message */
  stats: TrafficStats;
}

export enum SessionState {
  Open,
  Closing,
  Closed,
  Removed,
}

// Shared by every socket's answers (written as they are, never changed).
const HEARTBEAT = Buffer.from('{"type":"heartbeat"}');
const EMPTY = Buffer.alloc(0);
const NO_CANCEL = (): void => undefined;
/** the longest a stream asked to be renewed goes on (§3.4) */
const STREAM_GRACE_MS = 5000;

/**
 * Sessions with messages for a waiting poll. ws emits every message of one socket read in one
 * synchronous callback; flushing after it (one microtask for all sessions) puts them in one answer.
 */
const toFlush: Session[] = [];
const RESOLVED = Promise.resolve();

function flushAll(): void {
  // Index loop: a flush may (in principle) schedule another; it is taken in this same round.
  for (let i = 0; i < toFlush.length; i++) toFlush[i].flush();
  toFlush.length = 0;
}

// Timers take the session as their argument: no closure kept per session.
function onSessionTimer(session: Session): void {
  session.onTimer();
}
function onStalled(session: Session): void {
  session.closeBoth(1008, 'upstream is not reading');
}
function onCloseTimeout(upstream: WebSocket): void {
  upstream.terminate();
}

export class Session {
  private state = SessionState.Open;
  readonly outbox: Outbox;
  private readonly inbox: Inbox;
  private waiter: PollWaiter | undefined;
  /** the open stream (§3.4): it, or a poll, or neither receives, never both (§3.2) */
  private stream: StreamReceiver | undefined;
  /** the last seq written to the open stream */
  private streamSeq = 0;
  /** bytes of messages written to the open stream */
  private streamBytes = 0;
  /** when the open stream is asked to be renewed (its lifetime), or, once it was, when it ends; its heartbeat interval */
  private streamEndsAt = 0;
  /** the open stream was asked to be renewed: it ends when the next request comes, or at `streamEndsAt` */
  private streamRenewing = false;
  private streamBeatMs = 0;
  /** the answer the client has not read yet: at most one per socket (§3.3), whatever a client does */
  private unread: PollWaiter | StreamReceiver | undefined;
  /**
   * One timer per session, re-armed lazily: `deadline` is when the current wait ends (the poll's
   * ttl while a poll waits, the idle timeout otherwise); the timer may fire early and re-arm for
   * the rest, so the per-message path never touches the timer list.
   */
  private deadline = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private flushScheduled = false;
  /** seq of the close message, once queued (state Closed) */
  private closeSeq = 0;
  /** the upstream was reported gone (hooks.onUpstreamClosed) */
  private upstreamDone = false;
  /** reading from the upstream is paused until the client acks its backlog down */
  private paused = false;
  /** send answers waiting for the upstream to read (created on first use: most sockets never hold one) */
  private held: (() => void)[] | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  /** ws's write callback, made once a socket first backs up */
  private written: (() => void) | undefined;

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
    // 'close' always follows 'error'; the error itself is reported through the close code.
    upstream.on('error', (err: Error & { code?: string }) => this.onUpstreamError(err));
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

  /** bytes written to the upstream and not yet taken by its TCP connection */
  get upstreamBacklog(): number {
    return this.upstream.bufferedAmount;
  }

  /** a poll is waiting for messages */
  get polling(): boolean {
    return this.waiter !== undefined;
  }

  /** a stream is open (§3.4) */
  get streaming(): boolean {
    return this.stream !== undefined;
  }

  /** §3: a long-poll. Acks what the client has, then answers at once or holds `waiter`. */
  poll(ack: number | undefined, ttlMs: number | undefined, waiter: PollWaiter): void {
    this.acknowledge(ack);
    this.release(EMPTY); // §3.2 one poll at a time: a newer poll answers the older one at once
    this.endStream();
    if (this.outbox.size > 0) {
      this.hooks.stats.pollsWithMessages++;
      this.deliver(waiter, this.outbox.takeAll());
      this.waitIdle();
      return;
    }
    this.waiter = waiter;
    this.waitUntil(performance.now() + Math.min(ttlMs ?? this.limits.pollMaxTtlMs, this.limits.pollMaxTtlMs));
  }

  /**
   * §3.4: a streamed receive. Acks like a poll, ends the poll or stream before it (§3.2), writes
   * everything unacked at once and every later message as it arrives, a heartbeat every `ttlMs`,
   * until the socket's close is written. Once its lifetime (the poll cap) or its bytes bound passes it
   * asks to be renewed and goes on writing until the client's next request (which acks) ends it, or
   * a grace time passes: the client's next stream is open before this one ends, with no gap between.
   * `start` begins the HTTP answer, once the request proved good.
   */
  openStream(ack: number | undefined, ttlMs: number | undefined, start: () => StreamReceiver): StreamReceiver {
    this.acknowledge(ack);
    this.release(EMPTY);
    this.endStream();
    // started only once the request is known good: an error is still a whole answer of its own
    const receiver = start();
    const now = performance.now();
    this.stream = receiver;
    this.streamSeq = ack ?? this.outbox.deliveredSeq;
    this.streamBytes = 0;
    this.streamRenewing = false;
    this.streamEndsAt = now + this.limits.pollMaxTtlMs;
    // a heartbeat at most every 100 ms: ttl=0, a poll's "answer at once", means nothing to a stream
    this.streamBeatMs = Math.max(100, Math.min(ttlMs ?? this.limits.pollMaxTtlMs, this.limits.pollMaxTtlMs));
    this.hooks.stats.streamsOpened++;
    if (this.outbox.lastSeq > this.streamSeq) this.writeStream();
    if (this.stream === receiver) this.waitUntil(Math.min(now + this.streamBeatMs, this.streamEndsAt));
    return receiver;
  }

  /** The HTTP request behind `receiver` is over: the client went away, or read (or was cut from) its end. */
  streamEnded(receiver: StreamReceiver): void {
    if (this.unread === receiver) this.unread = undefined;
    if (this.stream !== receiver) return;
    this.stream = undefined;
    this.waitIdle();
  }

  /** Acks what the client has (§3.1), lets a paused upstream flow again, and lets a closed socket go once its close is acked. */
  private acknowledge(ack: number | undefined): void {
    if (this.state === SessionState.Removed) throw new PolysocketError('unknown_socket');
    if (ack !== undefined && ack > this.outbox.lastSeq) {
      throw new PolysocketError('bad_ack', `ack=${ack} is beyond the last seq sent (${this.outbox.lastSeq})`);
    }
    const acked = ack ?? this.outbox.deliveredSeq;
    this.outbox.ack(acked);
    if (this.paused && this.outbox.bufferedBytes <= this.limits.maxBufferedBytes / 4) {
      this.paused = false;
      this.upstream.resume();
    }
    if (this.closeSeq && acked >= this.closeSeq) {
      // §3.3 close linger: the client has the close, nothing more to keep.
      this.remove();
      throw new PolysocketError('unknown_socket');
    }
  }

  /** The HTTP request behind `waiter` is over: it went away unanswered, or its answer was read (or cut). */
  pollEnded(waiter: PollWaiter): void {
    if (this.unread === waiter) this.unread = undefined;
    if (this.waiter !== waiter) return;
    this.waiter = undefined;
    this.waitIdle();
  }

  /**
   * §4: one send or a batch (§4.5), each taken as if sent alone, leaving for the upstream in one
   * write. `reply` gets the answer once the upstream has room (§4.2 backpressure: at once,
   * normally). A failing send throws; the ones before it were taken, and a client that numbers
   * its sends learns where it stands from `expected`. Returns a cancel for a held answer.
   */
  send(sends: readonly SendParams[], reply: SendReply): () => void {
    if (sends[0].t === 'l') {
      this.leave();
      reply({ n: null, duplicate: false });
      return NO_CANCEL;
    }
    let fresh = 0;
    try {
      // Each send is judged against the backlog the request found, as if sent alone (§4.5): what the
      // batch itself queued (corked, not yet written) is not a sign of an upstream that stopped reading.
      const before = this.upstream.bufferedAmount;
      if (sends.length === 1) fresh = this.sendOne(sends[0], before);
      else
        fresh = corked(this.upstream, () => {
          let taken = 0;
          for (let i = 0; i < sends.length; i++) taken += this.sendOne(sends[i], before);
          return taken;
        });
    } catch (err) {
      if (err instanceof PolysocketError && sends[0].n !== undefined) throw withExpected(err, this.inbox.nextN);
      throw err;
    }
    const n = sends[sends.length - 1].n ?? null;
    const answer: SendAnswer = { n, duplicate: fresh === 0 && n !== null };
    return this.whenUpstreamWritable(() => reply(answer));
  }

  /** Closes from the relay's side: the client gets `close` with this code, the upstream too. */
  closeBoth(code: number, reason: string): void {
    if (this.state >= SessionState.Closed) return;
    this.queueClose(code, reason);
    this.endUpstream(code, reason);
  }

  /** §4.4 the page went away (closed its tab, navigated): the upstream gets 1001 "going away" now. */
  private leave(): void {
    this.queueClose(1001, 'going away');
    this.endUpstream(1001, 'going away');
    this.remove();
  }

  /** Nobody will ever use this socket (its create was never answered): close the upstream, forget it. */
  abandon(): void {
    this.endUpstream(1001, 'the socket was never handed out');
    this.remove();
  }

  /** Drops everything now (shutdown). */
  destroy(): void {
    this.upstream.terminate();
    this.upstreamGone(1001, 'relay shutting down');
    this.remove();
  }

  /** Returns 1 when the send was new, 0 for a repeated n. */
  private sendOne(p: SendParams, backlogBefore: number): number {
    if (this.state !== SessionState.Open) throw new PolysocketError('unknown_socket');
    const r = this.inbox.accept(p);
    switch (r.kind) {
      case 'duplicate':
        return 0;
      case 'partial':
        return 1;
      case 'close':
        // §4.4: the close message will carry the upstream's answer.
        this.state = SessionState.Closing;
        this.upstream.close(r.code, r.reason);
        this.armCloseTimeout();
        return 1;
      default: {
        const size = typeof r.data === 'string' ? Buffer.byteLength(r.data) : r.data.length;
        const backlog = backlogBefore + size;
        if (backlog > this.limits.maxBufferedBytes) {
          this.closeBoth(1009, 'upstream is not reading');
          throw new PolysocketError('upstream_backlog');
        }
        // Only a write that leaves a backlog can matter to a held answer: only those are watched.
        let watch: (() => void) | undefined;
        if (backlog > this.limits.maxBufferedBytes / 4) {
          this.written ??= () => this.onWritten();
          watch = this.written;
        }
        this.upstream.send(r.data, { binary: r.kind === 'binary' }, watch);
        this.hooks.stats.messagesToUpstream++;
        this.hooks.stats.bytesToUpstream += size;
        return 1;
      }
    }
  }

  /**
   * §4.2 backpressure: `done` runs at once unless more than half the bound waits to be written
   * upstream; then once ws reports writes that bring it under a quarter, or when the socket ends.
   * An upstream that stops reading for good closes the socket after `upstreamStallMs`.
   */
  private whenUpstreamWritable(done: () => void): () => void {
    if (this.state >= SessionState.Closed || this.upstream.bufferedAmount <= this.limits.maxBufferedBytes / 2) {
      done();
      return NO_CANCEL;
    }
    this.held ??= [];
    const held = this.held;
    held.push(done);
    if (held.length === 1) this.stallTimer = setTimeout(onStalled, this.limits.upstreamStallMs, this);
    return () => {
      const i = held.indexOf(done);
      if (i >= 0) held.splice(i, 1);
      if (held.length === 0) clearTimeout(this.stallTimer);
    };
  }

  private onWritten(): void {
    if (this.held?.length && this.upstream.bufferedAmount <= this.limits.maxBufferedBytes / 4) this.releaseHeld();
  }

  /** Answers every held send (they were taken; the socket's end, if that is why, tells the rest). */
  private releaseHeld(): void {
    const held = this.held;
    if (!held || held.length === 0) return;
    this.held = [];
    clearTimeout(this.stallTimer);
    for (const done of held) done();
  }

  private onUpstreamMessage(data: Buffer, isBinary: boolean): void {
    if (this.state >= SessionState.Closed) return; // the client was already told the socket closed
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

  /**
   * ws closes with 1009 on a frame over MAX_MESSAGE_BYTES but, having stopped reading, reports
   * 1006 itself: the client is told what docs/PROTOCOL.md §4.2 promises. Other errors end as 1006.
   */
  private onUpstreamError(err: Error & { code?: string }): void {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.queueClose(1009, 'message too big');
  }

  private onUpstreamClose(code: number, reason: string): void {
    this.queueClose(code, reason);
    this.upstreamGone(code, reason);
  }

  /**
   * The relay closes the upstream: it stops counting at once, reads on (a paused socket would
   * never see the upstream's close frame) and is cut if it does not answer in time.
   */
  private endUpstream(code: number, reason: string): void {
    const ws = this.upstream;
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(code, reason);
      if (this.paused) ws.resume();
      this.armCloseTimeout();
    }
    this.upstreamGone(code, reason);
  }

  private armCloseTimeout(): void {
    setTimeout(onCloseTimeout, this.limits.upstreamCloseTimeoutMs, this.upstream).unref();
  }

  private upstreamGone(code: number, reason: string): void {
    if (this.upstreamDone) return;
    this.upstreamDone = true;
    this.hooks.onUpstreamClosed(this, code, reason);
  }

  private queueClose(code: number, reason: string): void {
    if (this.state >= SessionState.Closed) return;
    this.state = SessionState.Closed;
    this.closeSeq = this.outbox.pushClose(code, reason);
    this.releaseHeld();
    this.scheduleFlush();
  }

  /**
   * Coalesces the messages ws emits from one socket read (synchronously, in one callback) into
   * one poll answer: a microtask runs right after that callback, without waiting a loop turn.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || (!this.waiter && !this.stream)) return;
    this.flushScheduled = true;
    if (toFlush.push(this) === 1) void RESOLVED.then(flushAll);
  }

  /** @internal (flushAll) */
  flush(): void {
    this.flushScheduled = false;
    if (this.waiter && this.outbox.size > 0) this.release(this.outbox.takeAll());
    else if (this.stream && this.outbox.lastSeq > this.streamSeq) this.writeStream();
  }

  /**
   * Writes what the open stream has not carried yet, as one line; ends the stream once it carried
   * the close, and asks for its renewal past its bound of bytes: the client's next request acks them (§3.4).
   */
  private writeStream(): void {
    const stream = this.stream;
    if (!stream) return;
    const messages = this.outbox.takeAfter(this.streamSeq);
    this.streamSeq = this.outbox.lastSeq;
    this.streamBytes += messages.length;
    stream.write(messages, this.inbox.nextN - 1);
    if (this.closeSeq && this.streamSeq >= this.closeSeq) this.endStream();
    else if (this.streamBytes > this.limits.streamMaxBytes) this.renewStream();
  }

  /**
   * Asks the client for its next stream and keeps writing to this one meanwhile, for a grace time
   * (at most 5 s, or the poll cap where that is shorter): a client that does not renew (an older
   * one, or one whose request is lost) still gets an end, and opens the next then.
   */
  private renewStream(): void {
    const stream = this.stream;
    if (!stream || this.streamRenewing) return;
    this.streamRenewing = true;
    stream.renew();
    const now = performance.now();
    this.streamEndsAt = now + Math.min(STREAM_GRACE_MS, this.limits.pollMaxTtlMs);
    this.waitUntil(Math.min(now + this.streamBeatMs, this.streamEndsAt));
  }

  /** Ends the open stream, if any: the client opens the next with its ack. */
  private endStream(): void {
    const stream = this.stream;
    if (!stream) return;
    this.stream = undefined;
    if (stream.end()) {
      const older = this.unread;
      this.unread = stream;
      if (older !== stream) older?.drop();
    }
    this.waitIdle();
  }

  private release(messages: Buffer): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    const stats = this.hooks.stats;
    if (messages === HEARTBEAT) stats.pollsHeartbeat++;
    else if (messages === EMPTY) stats.pollsEmpty++;
    else stats.pollsWithMessages++;
    this.deliver(waiter, messages);
    this.waitIdle();
  }

  /**
   * §3.3 unread answers: a socket keeps one. A newer answer the client does not take at once
   * either cuts the older one: its client polled again, so it has read that answer or given up
   * on it, and what it carried stays in the outbox until acked. Without this, polls that never
   * read would each keep alive a copy of the outbox it has since replaced, until the write timeout.
   */
  private deliver(waiter: PollWaiter, messages: Buffer): void {
    if (!waiter.answer(messages)) return;
    const older = this.unread;
    this.unread = waiter;
    older?.drop();
  }

  /** §3.3 idle: no poll waits, so the socket is closed if none comes within the idle timeout. */
  private waitIdle(): void {
    this.waitUntil(performance.now() + this.limits.idleTimeoutMs);
  }

  private waitUntil(deadline: number): void {
    if (this.state === SessionState.Removed) return;
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
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.state === SessionState.Removed) return;
    // Timers fire on whole milliseconds; under one to go counts as due.
    const now = performance.now();
    if (this.deadline - now >= 1) this.armTimer(this.deadline);
    else if (this.waiter) this.release(HEARTBEAT);
    else if (this.stream) {
      if (this.streamEndsAt - now >= 1) {
        this.stream.write(HEARTBEAT, this.inbox.nextN - 1);
        this.waitUntil(Math.min(now + this.streamBeatMs, this.streamEndsAt));
      } else if (this.streamRenewing) this.endStream();
      else this.renewStream();
    } else {
      this.endUpstream(1001, 'client stopped polling');
      this.remove();
    }
  }

  /** The one teardown: clears every timer, answers the waiting poll, reports once. */
  private remove(): void {
    if (this.state === SessionState.Removed) return;
    this.state = SessionState.Removed;
    clearTimeout(this.timer);
    this.releaseHeld();
    this.release(EMPTY);
    this.endStream();
    this.hooks.onRemoved(this);
  }
}

function withExpected(err: PolysocketError, expected: number): PolysocketError {
  return new PolysocketError(err.code, err.message, { ...err.details, expected });
}
