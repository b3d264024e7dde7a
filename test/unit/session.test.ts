/**
 * The session's rules without HTTP or sockets: a fake upstream stands in for ws (this is a unit
 * test; test/protocol/ proves the same rules end to end against real servers).
 */
import { EventEmitter } from 'node:events';
import type WebSocket from 'ws';
import { newTrafficStats } from '../../shared/metrics';
import { type PollWaiter, type SendAnswer, Session, type SessionLimits } from '../../relay/session';

class FakeUpstream extends EventEmitter {
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readyState = 1;
  bufferedAmount = 0;
  paused = false;
  sent: unknown[] = [];
  closedWith: [number | undefined, string | undefined][] = [];
  terminated = false;
  writeCallbacks: (() => void)[] = [];
  send(data: unknown, _opts: unknown, cb?: () => void) {
    this.sent.push(data);
    if (cb) this.writeCallbacks.push(cb);
  }
  close(code?: number, reason?: string) {
    this.closedWith.push([code, reason]);
    this.readyState = this.CLOSING;
  }
  terminate() {
    this.terminated = true;
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  /** the upstream's side of the close */
  finishClose(code: number, reason = '') {
    this.readyState = this.CLOSED;
    this.emit('close', code, Buffer.from(reason));
  }
}

const LIMITS: SessionLimits = {
  maxBufferedBytes: 1000,
  maxMessageBytes: 1000,
  maxChunks: 8,
  pollMaxTtlMs: 1000,
  idleTimeoutMs: 5000,
  upstreamStallMs: 3000,
  upstreamCloseTimeoutMs: 500,
  streamMaxBytes: 256,
};

function setup(limits: Partial<SessionLimits> = {}) {
  const upstream = new FakeUpstream();
  const events = { upstreamClosed: [] as number[], removed: 0 };
  const session = new Session(
    { id: 'sock', uniq: 'u1', target: 'ws://example.com/', origin: '', from: '' },
    upstream as unknown as WebSocket,
    { ...LIMITS, ...limits },
    { onUpstreamClosed: (_s, code) => events.upstreamClosed.push(code), onRemoved: () => events.removed++, stats: newTrafficStats() },
  );
  session.start();
  return { upstream, session, events };
}

/** `unread`: the client does not take its answer (it stays in the relay's buffers). */
function waiter(unread = false) {
  const answers: unknown[][] = [];
  const bodies: Buffer[] = [];
  const state = { dropped: false };
  const w: PollWaiter = {
    answer: (messages) => {
      bodies.push(messages);
      answers.push(JSON.parse(`[${messages}]`));
      return unread;
    },
    drop: () => {
      state.dropped = true;
    },
  };
  return { w, answers, bodies, state };
}

const text = (d: string, n?: number) => ({ d, t: 't' as const, n, c: false });
const flush = () => Promise.resolve();

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('poll (§3)', () => {
  test('messages waiting are answered at once', () => {
    const { upstream, session } = setup();
    upstream.emit('message', Buffer.from('hi'), false);
    const { w, answers } = waiter();
    session.poll(undefined, 1000, w);
    expect(answers).toEqual([[{ type: 'text', seq: 1, data: 'hi' }]]);
  });

  test('a held poll is answered by the next upstream message', async () => {
    const { upstream, session } = setup();
    const { w, answers } = waiter();
    session.poll(0, 1000, w);
    upstream.emit('message', Buffer.from('later'), false);
    await flush();
    expect(answers).toEqual([[{ type: 'text', seq: 1, data: 'later' }]]);
  });

  test('messages of one upstream read share one answer', async () => {
    const { upstream, session } = setup();
    const { w, answers } = waiter();
    session.poll(0, 1000, w);
    upstream.emit('message', Buffer.from('a'), false);
    upstream.emit('message', Buffer.from('b'), false);
    await flush();
    expect(answers).toHaveLength(1);
    expect(answers[0]).toHaveLength(2);
  });

  test('a held poll with nothing to say is answered with a heartbeat at its ttl', () => {
    const { session } = setup();
    const { w, answers } = waiter();
    session.poll(0, 200, w);
    jest.advanceTimersByTime(199);
    expect(answers).toEqual([]);
    jest.advanceTimersByTime(2);
    expect(answers).toEqual([[{ type: 'heartbeat' }]]);
  });

  test('ttl is capped by pollMaxTtlMs', () => {
    const { session } = setup({ pollMaxTtlMs: 100 });
    const { w, answers } = waiter();
    session.poll(0, 60_000, w);
    jest.advanceTimersByTime(101);
    expect(answers).toEqual([[{ type: 'heartbeat' }]]);
  });

  test('a newer poll answers the older one at once, empty (§3.2)', () => {
    const { session } = setup();
    const first = waiter();
    session.poll(0, 1000, first.w);
    session.poll(0, 1000, waiter().w);
    expect(first.answers).toEqual([[]]);
  });

  test('an ack beyond the last seq is bad_ack', () => {
    const { session } = setup();
    expect(() => session.poll(1, 1000, waiter().w)).toThrow(expect.objectContaining({ code: 'bad_ack' }));
  });
});

describe('one encoding, however many polls', () => {
  test('polls with the same ack are answered with one Buffer', () => {
    const { upstream, session } = setup();
    upstream.emit('message', Buffer.from('hi'), false);
    const first = waiter();
    const second = waiter();
    session.poll(0, 1000, first.w);
    session.poll(0, 1000, second.w);
    expect(second.bodies[0]).toBe(first.bodies[0]);
  });
});

describe('unread answers (§3.3)', () => {
  test('a newer answer the client does not read either cuts the older unread one', () => {
    const { upstream, session } = setup();
    upstream.emit('message', Buffer.from('hi'), false);
    const older = waiter(true);
    const newer = waiter(true);
    session.poll(0, 1000, older.w);
    session.poll(0, 1000, newer.w);
    expect([older.state.dropped, newer.state.dropped]).toEqual([true, false]);
  });

  test('an answer the client has read is not cut by a newer one', () => {
    const { upstream, session } = setup();
    upstream.emit('message', Buffer.from('hi'), false);
    const older = waiter(true);
    session.poll(0, 1000, older.w);
    session.pollEnded(older.w);
    session.poll(0, 1000, waiter(true).w);
    expect(older.state.dropped).toBe(false);
  });

  test('a held poll whose answer is not read is cut by the next unread answer', async () => {
    const { upstream, session } = setup();
    const held = waiter(true);
    session.poll(0, 1000, held.w);
    upstream.emit('message', Buffer.from('later'), false);
    await flush();
    session.poll(0, 1000, waiter(true).w);
    expect(held.state.dropped).toBe(true);
  });

  test('answers taken at once are never cut', () => {
    const { upstream, session } = setup();
    upstream.emit('message', Buffer.from('hi'), false);
    const older = waiter();
    session.poll(0, 1000, older.w);
    session.poll(0, 1000, waiter(true).w);
    expect(older.state.dropped).toBe(false);
  });
});

describe('send (§4)', () => {
  const reply = () => {
    const answers: SendAnswer[] = [];
    return { answers, fn: (a: SendAnswer) => answers.push(a) };
  };

  test('a send is forwarded upstream and answered with its n', () => {
    const { upstream, session } = setup();
    const r = reply();
    session.send([text('hello', 1)], r.fn);
    expect(upstream.sent).toEqual(['hello']);
    expect(r.answers).toEqual([{ n: 1, duplicate: false }]);
  });

  test('a repeated n is answered as a duplicate and not forwarded again', () => {
    const { upstream, session } = setup();
    session.send([text('hello', 1)], () => undefined);
    const r = reply();
    session.send([text('hello', 1)], r.fn);
    expect(upstream.sent).toEqual(['hello']);
    expect(r.answers).toEqual([{ n: 1, duplicate: true }]);
  });

  test('an overlapping batch forwards only the sends not yet taken (§4.5)', () => {
    const { upstream, session } = setup();
    session.send([text('a', 1), text('b', 2)], () => undefined);
    const r = reply();
    session.send([text('a', 1), text('b', 2), text('c', 3)], r.fn);
    expect(upstream.sent).toEqual(['a', 'b', 'c']);
    expect(r.answers).toEqual([{ n: 3, duplicate: false }]);
  });

  test('a failing send in a batch keeps the ones before it and names the expected n', () => {
    const { upstream, session } = setup();
    expect(() => session.send([text('a', 1), { d: '!', t: 'b', n: 2, c: false }], () => undefined)).toThrow(
      expect.objectContaining({ code: 'bad_base64', details: { expected: 2 } }),
    );
    expect(upstream.sent).toEqual(['a']);
  });

  test("the client's close runs the closing handshake upstream; later sends are unknown_socket", () => {
    const { upstream, session } = setup();
    session.send([{ d: '', t: 'c', n: 1, c: false, code: 4001, reason: 'done' }], () => undefined);
    expect(upstream.closedWith).toEqual([[4001, 'done']]);
    expect(() => session.send([text('late', 2)], () => undefined)).toThrow(expect.objectContaining({ code: 'unknown_socket' }));
  });

  test('a send is held while more than half the bound waits upstream, and answered once ws has written it', () => {
    const { upstream, session } = setup();
    upstream.bufferedAmount = 600;
    const r = reply();
    session.send([text('x'.repeat(10), 1)], r.fn);
    expect(r.answers).toEqual([]);
    upstream.bufferedAmount = 100;
    for (const cb of upstream.writeCallbacks) cb();
    expect(r.answers).toEqual([{ n: 1, duplicate: false }]);
  });

  test('a send held for upstreamStallMs closes the socket with 1008 both ways', () => {
    const { upstream, session } = setup();
    upstream.bufferedAmount = 600;
    const r = reply();
    session.send([text('x', 1)], r.fn);
    jest.advanceTimersByTime(3000);
    expect(upstream.closedWith).toEqual([[1008, 'upstream is not reading']]);
    expect(r.answers).toHaveLength(1);
  });

  test('a send that would pass the bound closes the socket with 1009 and is upstream_backlog', () => {
    const { upstream, session } = setup();
    upstream.bufferedAmount = 995;
    expect(() => session.send([text('x'.repeat(10), 1)], () => undefined)).toThrow(expect.objectContaining({ code: 'upstream_backlog' }));
    expect(upstream.closedWith).toEqual([[1009, 'upstream is not reading']]);
  });
});

describe('lifecycle', () => {
  test('an upstream close is queued as the last message, and the socket stops counting once', () => {
    const { upstream, session, events } = setup();
    upstream.finishClose(4000, 'bye');
    const { w, answers } = waiter();
    session.poll(0, 1000, w);
    expect(answers).toEqual([[{ type: 'close', seq: 1, code: 4000, reason: 'bye' }]]);
    expect(events.upstreamClosed).toEqual([4000]);
  });

  test('acking the close removes the session once; its id is then unknown', () => {
    const { upstream, session, events } = setup();
    upstream.finishClose(1000);
    expect(() => session.poll(1, 1000, waiter().w)).toThrow(expect.objectContaining({ code: 'unknown_socket' }));
    expect(() => session.poll(1, 1000, waiter().w)).toThrow(expect.objectContaining({ code: 'unknown_socket' }));
    expect(events.removed).toBe(1);
  });

  test('a socket nobody polls for idleTimeoutMs closes its upstream with 1001 and is removed', () => {
    const { upstream, events } = setup();
    jest.advanceTimersByTime(5001);
    expect(upstream.closedWith).toEqual([[1001, 'client stopped polling']]);
    expect(events).toEqual({ upstreamClosed: [1001], removed: 1 });
  });

  test('a relay-side close reads on from a paused upstream and cuts it after the close timeout', () => {
    const { upstream, session, events } = setup({ maxBufferedBytes: 100 });
    upstream.emit('message', Buffer.from('x'.repeat(60)), false);
    expect(upstream.paused).toBe(true);
    session.closeBoth(1001, 'relay shutting down');
    expect(upstream.paused).toBe(false);
    expect(events.upstreamClosed).toEqual([1001]);
    jest.advanceTimersByTime(500);
    expect(upstream.terminated).toBe(true);
  });

  test('a frame larger than the room left closes the socket with 1009 after what was queued', () => {
    const { upstream, session } = setup({ maxBufferedBytes: 100 });
    upstream.emit('message', Buffer.from('a'), false);
    upstream.emit('message', Buffer.from('x'.repeat(200)), false);
    const { w, answers } = waiter();
    session.poll(0, 1000, w);
    expect(answers[0]).toEqual([
      { type: 'text', seq: 1, data: 'a' },
      { type: 'close', seq: 2, code: 1009, reason: 'client is not keeping up' },
    ]);
  });

  test('paused reading resumes once acks bring the backlog under a quarter', () => {
    const { upstream, session } = setup({ maxBufferedBytes: 100 });
    upstream.emit('message', Buffer.from('x'.repeat(60)), false);
    expect(upstream.paused).toBe(true);
    session.poll(1, 1000, waiter().w);
    expect(upstream.paused).toBe(false);
  });
});
