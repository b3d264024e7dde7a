/**
 * Messages waiting for the client, numbered by `seq`, kept until the client acks them so a lost
 * poll answer loses nothing. Each message is serialised once, on arrival, into a script-safe
 * JSON fragment; a poll answer is those fragments joined. Pure: no timers, no I/O.
 */
import { escapeJsonText, scriptSafeJson } from '../shared/jsonp';

interface Entry {
  seq: number;
  frag: string;
}

export class Outbox {
  private entries: Entry[] = [];
  /** takeAll's answer while the entries are unchanged */
  private joined: string | undefined;
  private bytes = 0;
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
      this.bytes -= this.entries[i].frag.length;
      i++;
    }
    if (i > 0) {
      this.entries = i === this.entries.length ? [] : this.entries.slice(i);
      this.joined = undefined;
    }
  }

  /**
   * All unacked messages as a JSON array body, marking them delivered. Repeated polls with the
   * same ack share one string: a client that polls again and again does not multiply the outbox.
   */
  takeAll(): string {
    this.deliveredSeq = this.lastSeq;
    if (this.joined === undefined) {
      this.joined = this.entries.length === 1 ? `[${this.entries[0].frag}]` : `[${this.entries.map((e) => e.frag).join(',')}]`;
    }
    return this.joined;
  }

  private push(seq: number, frag: string, force: boolean): boolean {
    if (!force && this.bytes + frag.length > this.maxBytes) return false;
    this.joined = undefined;
    this.entries.push({ seq, frag });
    this.bytes += frag.length;
    this.lastSeq = seq;
    return true;
  }
}
