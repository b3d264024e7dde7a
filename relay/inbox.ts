/**
 * Sends from the client, in `n` order, joined across chunks. Decides what reaches the upstream:
 * a repeated `n` is acknowledged again but not forwarded twice, an `n` ahead of the next expected
 * one is refused, and a refused send never consumes its `n`. Pure: no I/O.
 */
import { PolysocketError } from '../shared/errors';

export interface SendParams {
  /** data: text, or base64 for t=b */
  d: string;
  /** text, binary, close, or l: the page left (§4.4) */
  t: 't' | 'b' | 'c' | 'l';
  /** send counter; undefined for seed clients, whose sends are forwarded in arrival order */
  n?: number;
  /** more chunks follow */
  c: boolean;
  code?: number;
  reason?: string;
}

export type InboxResult =
  | { kind: 'duplicate' }
  | { kind: 'partial' }
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Buffer }
  | { kind: 'close'; code?: number; reason: string };

export interface InboxLimits {
  maxMessageBytes: number;
  maxChunks: number;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class Inbox {
  /** the next `n` this inbox will take */
  nextN = 1;
  private parts: (string | Buffer)[] = [];
  private partType: 't' | 'b' | undefined;
  private partBytes = 0;

  constructor(private readonly limits: InboxLimits) {}

  accept(p: SendParams): InboxResult {
    if (p.n !== undefined) {
      if (p.n < this.nextN) return { kind: 'duplicate' };
      if (p.n > this.nextN) throw new PolysocketError('out_of_order', `expected n=${this.nextN}, got n=${p.n}`, { expected: this.nextN });
    }
    const result = p.t === 'c' ? this.closeOf(p) : this.dataOf(p);
    if (p.n !== undefined) this.nextN++;
    return result;
  }

  private closeOf(p: SendParams): InboxResult {
    if (p.c) throw new PolysocketError('bad_parameter', 'a close (t=c) cannot be chunked');
    if (this.partType) throw new PolysocketError('chunk_type_mismatch', 'a close cannot interrupt a continued send');
    if (p.code !== undefined && p.code !== 1000 && (p.code < 3000 || p.code > 4999)) throw new PolysocketError('bad_close');
    const reason = p.reason ?? '';
    if (Buffer.byteLength(reason) > 123) throw new PolysocketError('bad_close');
    if (reason && p.code === undefined) throw new PolysocketError('bad_close', 'a close reason needs a code');
    return { kind: 'close', code: p.code, reason };
  }

  private dataOf(p: SendParams): InboxResult {
    if (this.partType && this.partType !== p.t) throw new PolysocketError('chunk_type_mismatch');
    let piece: string | Buffer;
    let bytes: number;
    if (p.t === 'b') {
      if (!BASE64.test(p.d)) throw new PolysocketError('bad_base64');
      piece = Buffer.from(p.d, 'base64');
      bytes = piece.length;
    } else {
      piece = p.d;
      bytes = Buffer.byteLength(p.d);
    }
    if (this.partBytes + bytes > this.limits.maxMessageBytes) {
      throw new PolysocketError('message_too_large', `messages are limited to ${this.limits.maxMessageBytes} bytes`);
    }
    if (p.c && this.parts.length + 1 >= this.limits.maxChunks) {
      throw new PolysocketError('too_many_chunks', `a continued send may have at most ${this.limits.maxChunks} chunks`);
    }
    if (p.c) {
      this.parts.push(piece);
      this.partType = p.t as 't' | 'b';
      this.partBytes += bytes;
      return { kind: 'partial' };
    }
    if (this.parts.length === 0) return p.t === 'b' ? { kind: 'binary', data: piece as Buffer } : { kind: 'text', data: piece as string };
    this.parts.push(piece);
    const parts = this.parts;
    this.parts = [];
    this.partType = undefined;
    this.partBytes = 0;
    return p.t === 'b' ? { kind: 'binary', data: Buffer.concat(parts as Buffer[]) } : { kind: 'text', data: (parts as string[]).join('') };
  }
}
