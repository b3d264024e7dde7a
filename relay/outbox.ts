/**
 * Messages waiting for the client, numbered by `seq`, kept until the client acks them so a lost
 * poll answer loses nothing. Each message is serialised once, on arrival, into a script-safe JSON
 * fragment and encoded at once into the outbox's log: one Buffer of the fragments' UTF-8 bytes,
 * each followed by a comma, only ever appended to. A poll answer is a view of a range of it, so
 * every answer (the same messages or not) writes bytes the outbox already holds, and no answer's
 * bytes change while a socket may still be writing them. Pure: no timers, no I/O.
 */
import { escapeJsonText, scriptSafeJson } from '../shared/jsonp';

interface Entry {
  seq: number;
  /** what it counts towards the bound (the fragment's length) */
  size: number;
  /** where its bytes (and comma) end, as a position in everything the log was given */
  end: number;
}

const COMMA = 0x2c;

export class Outbox {
  private entries: Entry[] = [];
  private bytes = 0;
  /**
   * The log. Positions count every byte it was given since it last emptied; `log` holds those
   * from `logStart` on. The first entry's bytes begin at `start`, the next append goes at `end`.
   */
  private log: Buffer | undefined;
  private logStart = 0;
  private start = 0;
  private end = 0;
  /** takeAll's answer while the entries are unchanged */
  private view: Buffer | undefined;
  /** seq of the last message put in (0 = none yet) */
  lastSeq = 0;
  /** highest seq handed to a poll, for clients that never send `ack` */
  deliveredSeq = 0;

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.entries.length;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  /**
   * False when the message would push the unacked bytes past the bound (nothing is queued then),
   * unless `force`d.
   */
  pushText(data: string, force = false): boolean {
    const seq = this.lastSeq + 1;
    return this.push(seq, `{"type":"text","seq":${seq},"data":${escapeJsonText(JSON.stringify(data))}}`, force);
  }

  pushBinary(data: Buffer, force = false): boolean {
    const seq = this.lastSeq + 1;
    return this.push(seq, `{"type":"binary","seq":${seq},"data":"${data.toString('base64')}"}`, force);
  }

  /** The close message is always taken, even past the bound: it is what tells the client why. */
  pushClose(code: number, reason: string): number {
    const seq = this.lastSeq + 1;
    this.push(seq, scriptSafeJson({ type: 'close', seq, code, reason }), true);
    return seq;
  }

  /** Drops every message up to and including `seq`. */
  ack(seq: number): void {
    let i = 0;
    while (i < this.entries.length && this.entries[i].seq <= seq) {
      this.bytes -= this.entries[i].size;
      i++;
    }
    if (i === 0) return;
    this.view = undefined;
    if (i === this.entries.length) {
      // Empty: the log is let go (answers still being written keep what they view of it).
      this.entries = [];
      this.log = undefined;
      this.logStart = this.start = this.end = 0;
    } else {
      this.start = this.entries[i - 1].end;
      this.entries = this.entries.slice(i);
    }
  }

  /**
   * All unacked messages, marking them delivered: the bytes of a JSON array's elements, comma
   * separated, without the brackets (the answer writes those around it). Repeated polls with the
   * same ack get the same Buffer; any answer's bytes are the log's own, never copied, never
   * changed: a client that polls again and again, reading its answers or not, does not multiply
   * the outbox. Callers must not change it.
   */
  takeAll(): Buffer {
    this.deliveredSeq = this.lastSeq;
    if (this.view === undefined) {
      // without the last entry's comma
      this.view = this.log ? this.log.subarray(this.start - this.logStart, this.end - 1 - this.logStart) : EMPTY;
    }
    return this.view;
  }

  /**
   * The unacked messages after `seq` (docs/PROTOCOL.md §3.4: what a stream has not written yet),
   * marking them delivered: the same kind of view as takeAll's, of the log's own bytes. Messages
   * arrive a few at a time, so the search starts from the newest.
   */
  takeAfter(seq: number): Buffer {
    const entries = this.entries;
    let i = entries.length;
    while (i > 0 && entries[i - 1].seq > seq) i--;
    if (i === 0) return this.takeAll();
    this.deliveredSeq = this.lastSeq;
    if (i === entries.length || !this.log) return EMPTY;
    return this.log.subarray(entries[i - 1].end - this.logStart, this.end - 1 - this.logStart);
  }

  private push(seq: number, frag: string, force: boolean): boolean {
    if (!force && this.bytes + frag.length > this.maxBytes) return false;
    const length = Buffer.byteLength(frag) + 1;
    const log = this.room(length);
    const at = this.end - this.logStart;
    log.write(frag, at);
    log[at + length - 1] = COMMA;
    this.end += length;
    this.view = undefined;
    this.entries.push({ seq, size: frag.length, end: this.end });
    this.bytes += frag.length;
    this.lastSeq = seq;
    return true;
  }

  /**
   * The log, with room for `length` more bytes after `end`. A full log is never written over, nor
   * moved: a new one takes its unacked bytes (twice their size, so a growing backlog is copied a
   * few times, not once per message) and the old one goes once no answer views it any more.
   */
  private room(length: number): Buffer {
    const log = this.log;
    if (log && this.end - this.logStart + length <= log.length) return log;
    const kept = this.end - this.start;
    // Not from the shared pool: a small log kept a while must not hold on to a pool slab. A
    // first message (most often taken at once) gets its own size; a backlog, room to grow.
    const next = Buffer.allocUnsafeSlow(log ? 2 * (kept + length) : length);
    if (log) log.copy(next, 0, this.start - this.logStart, this.end - this.logStart);
    this.log = next;
    this.logStart = this.start;
    return next;
  }
}

const EMPTY = Buffer.alloc(0);
