/** docs/PROTOCOL.md §4.1–4.4 as the Inbox decides them, without HTTP. */
import { Inbox, type SendParams } from '../../relay/inbox';

const limits = { maxMessageBytes: 16, maxChunks: 3 };
const text = (d: string, n?: number, c = false): SendParams => ({ d, t: 't', n, c });

describe('§4.1 ordering and duplicates by n', () => {
  test('the expected n is taken and the next one is expected', () => {
    const inbox = new Inbox(limits);
    expect(inbox.accept(text('a', 1))).toEqual({ kind: 'text', data: 'a' });
    expect(inbox.nextN).toBe(2);
  });

  test('an n below the expected one is a duplicate and is not taken again', () => {
    const inbox = new Inbox(limits);
    inbox.accept(text('a', 1));
    expect(inbox.accept(text('a', 1))).toEqual({ kind: 'duplicate' });
    expect(inbox.nextN).toBe(2);
  });

  test('an n above the expected one is out_of_order, naming the expected n', () => {
    const inbox = new Inbox(limits);
    expect(() => inbox.accept(text('a', 3))).toThrow(expect.objectContaining({ code: 'out_of_order', details: { expected: 1 } }));
  });

  test('a refused send does not consume its n', () => {
    const inbox = new Inbox(limits);
    expect(() => inbox.accept({ d: '!!', t: 'b', n: 1, c: false })).toThrow(expect.objectContaining({ code: 'bad_base64' }));
    expect(inbox.nextN).toBe(1);
  });

  test('sends without n are taken in arrival order, never as duplicates', () => {
    const inbox = new Inbox(limits);
    expect(inbox.accept(text('a'))).toEqual({ kind: 'text', data: 'a' });
    expect(inbox.accept(text('a'))).toEqual({ kind: 'text', data: 'a' });
  });
});

describe('§4.2 bounds and §4.3 chunks', () => {
  test('chunks are joined into one message', () => {
    const inbox = new Inbox(limits);
    expect(inbox.accept(text('ab', 1, true))).toEqual({ kind: 'partial' });
    expect(inbox.accept(text('cd', 2))).toEqual({ kind: 'text', data: 'abcd' });
  });

  test('binary chunks are decoded one by one and their bytes joined', () => {
    const inbox = new Inbox(limits);
    inbox.accept({ d: 'AQ==', t: 'b', n: 1, c: true });
    expect(inbox.accept({ d: 'Ag==', t: 'b', n: 2, c: false })).toEqual({ kind: 'binary', data: Buffer.from([1, 2]) });
  });

  test('a chunk of another t is chunk_type_mismatch', () => {
    const inbox = new Inbox(limits);
    inbox.accept(text('ab', 1, true));
    expect(() => inbox.accept({ d: 'AQ==', t: 'b', n: 2, c: false })).toThrow(expect.objectContaining({ code: 'chunk_type_mismatch' }));
  });

  test('more chunks than MAX_CHUNKS is too_many_chunks', () => {
    const inbox = new Inbox(limits);
    inbox.accept(text('a', 1, true));
    inbox.accept(text('b', 2, true));
    expect(() => inbox.accept(text('c', 3, true))).toThrow(expect.objectContaining({ code: 'too_many_chunks' }));
  });

  test('a message over MAX_MESSAGE_BYTES, counted over its chunks, is message_too_large', () => {
    const inbox = new Inbox(limits);
    inbox.accept(text('x'.repeat(10), 1, true));
    expect(() => inbox.accept(text('x'.repeat(7), 2))).toThrow(expect.objectContaining({ code: 'message_too_large' }));
  });
});

describe('§4.4 close from the client', () => {
  test('a close carries its code and reason', () => {
    expect(new Inbox(limits).accept({ d: '', t: 'c', n: 1, c: false, code: 4000, reason: 'bye' })).toEqual({
      kind: 'close',
      code: 4000,
      reason: 'bye',
    });
  });

  test.each([[1001], [2999], [5000]])('close code %i is bad_close', (code) => {
    expect(() => new Inbox(limits).accept({ d: '', t: 'c', n: 1, c: false, code })).toThrow(expect.objectContaining({ code: 'bad_close' }));
  });

  test('a reason without a code is bad_close', () => {
    expect(() => new Inbox(limits).accept({ d: '', t: 'c', n: 1, c: false, reason: 'why' })).toThrow(
      expect.objectContaining({ code: 'bad_close' }),
    );
  });

  test('a close cannot interrupt a continued send', () => {
    const inbox = new Inbox(limits);
    inbox.accept(text('a', 1, true));
    expect(() => inbox.accept({ d: '', t: 'c', n: 2, c: false })).toThrow(expect.objectContaining({ code: 'chunk_type_mismatch' }));
  });
});
