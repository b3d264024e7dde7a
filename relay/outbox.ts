/**
 * Messages waiting for the client, numbered by `seq`, kept until the client acks them so a lost
 * poll answer loses nothing. Each message is serialised once, on arrival, into a script-safe
 * JSON fragment; a poll answer is those fragments joined, encoded once into bytes that every poll
 * answered with the same messages writes as they are. Pure: no timers, no I/O.
 */
import { escapeJsonText, scriptSafeJson } from '../shared/jsonp';

interface Entry {
  seq: number;
  frag: string;
}

export class Outbox {
  private entries: Entry[] = [];
  /** takeAll's answer while the entries are unchanged (written to sockets as it is: never changed) */
  private encoded: Buffer | undefined;
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
      this.encoded = undefined;
    }
  }

  /**
   * All unacked messages as the UTF-8 bytes of a JSON array, marking them delivered. Repeated
   * polls with the same ack share one Buffer: a client that polls again and again, reading its
   * answers or not, does not multiply the outbox. Callers must not change it.
   */
  takeAll(): Buffer {
    this.deliveredSeq = this.lastSeq;
    this.encoded ??= encode(this.entries);
    return this.encoded;
  }

  private push(seq: number, frag: string, force: boolean): boolean {
    if (!force && this.bytes + frag.length > this.maxBytes) return false;
    this.encoded = undefined;
    this.entries.push({ seq, frag });
    this.bytes += frag.length;
    this.lastSeq = seq;
    return true;
  }
}

const OPEN = 0x5b; // [
const COMMA = 0x2c;
const CLOSE = 0x5d; // ]

/** `[frag,frag,...]` written straight into one Buffer of its exact size: no joined string on the way. */
function encode(entries: readonly Entry[]): Buffer {
  let size = Math.max(2, entries.length + 1); // the brackets and the commas between fragments
  for (let i = 0; i < entries.length; i++) size += Buffer.byteLength(entries[i].frag);
  // Not from the shared pool: a small answer kept for a while must not hold on to a pool slab.
  const out = Buffer.allocUnsafeSlow(size);
  out[0] = OPEN;
  let at = 1;
  for (let i = 0; i < entries.length; i++) {
    if (i > 0) out[at++] = COMMA;
    at += out.write(entries[i].frag, at);
  }
  out[at] = CLOSE;
  return out;
}
