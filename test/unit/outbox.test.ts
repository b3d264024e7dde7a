/** docs/PROTOCOL.md §3.1 and §3.3 as the Outbox keeps them, without HTTP. */
import { Outbox } from '../../relay/outbox';

const parse = (elements: Buffer) => JSON.parse(`[${elements}]`) as { seq: number; type: string; data?: string }[];

describe('§3.1 sequence and acknowledgement', () => {
  test('messages are numbered 1, 2, 3 in arrival order', () => {
    const box = new Outbox(1024);
    box.pushText('a');
    box.pushBinary(Buffer.from([1]));
    box.pushClose(1000, '');
    expect(parse(box.takeAll()).map((m) => [m.seq, m.type])).toEqual([
      [1, 'text'],
      [2, 'binary'],
      [3, 'close'],
    ]);
  });

  test('an answer that was taken stays until acked: a repeated poll gets it again', () => {
    const box = new Outbox(1024);
    box.pushText('a');
    box.takeAll();
    expect(parse(box.takeAll()).map((m) => m.data)).toEqual(['a']);
  });

  test('ack drops every message up to and including its seq', () => {
    const box = new Outbox(1024);
    for (const d of ['a', 'b', 'c']) box.pushText(d);
    box.ack(2);
    expect(parse(box.takeAll()).map((m) => m.seq)).toEqual([3]);
  });

  test('takeAll marks what it carried as delivered (for clients without ack)', () => {
    const box = new Outbox(1024);
    box.pushText('a');
    box.pushText('b');
    box.takeAll();
    expect(box.deliveredSeq).toBe(2);
  });

  test('answers are script-safe: < > & U+2028 are escaped', () => {
    const box = new Outbox(1024);
    box.pushText('</script>&\u2028');
    expect(box.takeAll().toString()).not.toMatch(/[<>&\u2028]/);
  });
});

describe('§3.3 the buffer bound', () => {
  test('a message past the bound is refused and nothing is queued', () => {
    const box = new Outbox(64);
    expect(box.pushText('x'.repeat(100))).toBe(false);
    expect(box.size).toBe(0);
  });

  test('a forced message is taken past the bound', () => {
    const box = new Outbox(64);
    expect(box.pushText('x'.repeat(100), true)).toBe(true);
  });

  test('the close message is always taken', () => {
    const box = new Outbox(64);
    box.pushText('x'.repeat(20));
    expect(box.pushClose(1009, 'client is not keeping up'.repeat(2))).toBe(2);
  });

  test('acked bytes come back', () => {
    const box = new Outbox(1024);
    box.pushText('abc');
    box.ack(1);
    expect(box.bufferedBytes).toBe(0);
  });
});

describe('one encoding, however many polls', () => {
  test('repeated polls with the same ack share one encoded answer', () => {
    const box = new Outbox(1024);
    box.pushText('a');
    box.pushText('b');
    expect(box.takeAll()).toBe(box.takeAll());
  });

  test('a new message or an ack makes a new encoding', () => {
    const box = new Outbox(1024);
    box.pushText('a');
    const first = box.takeAll();
    box.pushText('b');
    const second = box.takeAll();
    box.ack(1);
    expect(second).not.toBe(first);
    expect(box.takeAll()).not.toBe(second);
    expect(parse(first).map((m) => m.data)).toEqual(['a']);
  });

  test('the encoding is the UTF-8 of the joined fragments, exactly, whatever the characters', () => {
    const box = new Outbox(1024);
    const texts = ['é', '€ and 😀', '', 'plain'];
    for (const t of texts) box.pushText(t);
    box.pushBinary(Buffer.from([0, 255]));
    const text = texts.map((t, i) => JSON.stringify({ type: 'text', seq: i + 1, data: t })).join(',');
    const expected = `${text},{"type":"binary","seq":5,"data":"AP8="}`;
    expect(box.takeAll().toString()).toBe(expected);
  });

  test("an answer's bytes never change, whatever arrives or is acked after it", () => {
    const box = new Outbox(1 << 20);
    box.pushText('a');
    const answers: [Buffer, string][] = [];
    const take = () => {
      const b = box.takeAll();
      answers.push([b, b.toString()]);
    };
    take();
    // enough to outgrow the log a few times, with acks moving its start
    for (let i = 0; i < 200; i++) {
      box.pushText(`m${i}`.repeat(i));
      if (i % 3 === 0) take();
      if (i % 7 === 0) box.ack(box.lastSeq - 2);
      if (i % 50 === 0) box.ack(box.lastSeq);
    }
    take();
    for (const [b, text] of answers) expect(b.toString()).toBe(text);
  });

  test('answers of overlapping messages view one log: a message more costs its own bytes only', () => {
    const box = new Outbox(1 << 20);
    box.pushText('x'.repeat(1000));
    box.pushText('y'); // the log grows here, to room for a backlog
    const before = box.takeAll();
    box.pushText('z');
    const after = box.takeAll();
    expect(after.buffer).toBe(before.buffer);
    expect(parse(after).map((m) => m.data)).toEqual(['x'.repeat(1000), 'y', 'z']);
  });
});

describe('§3.4 what a stream has not carried yet', () => {
  test('takeAfter(seq) is the unacked messages after seq, the same bytes as the log, and marks them delivered', () => {
    const box = new Outbox(1024);
    for (const d of ['a', 'b', 'c']) box.pushText(d);
    expect(parse(box.takeAfter(1)).map((m) => m.data)).toEqual(['b', 'c']);
    expect(box.deliveredSeq).toBe(3);
    expect(box.takeAfter(3).length).toBe(0);
    expect(parse(box.takeAfter(0)).map((m) => m.data)).toEqual(['a', 'b', 'c']);
    box.ack(1);
    box.pushText('d');
    expect(parse(box.takeAfter(3)).map((m) => m.data)).toEqual(['d']);
    // a seq already acked: everything unacked
    expect(parse(box.takeAfter(0)).map((m) => m.data)).toEqual(['b', 'c', 'd']);
  });

  test('across a grown log the views stay right', () => {
    const box = new Outbox(1 << 20);
    for (let i = 1; i <= 500; i++) box.pushText(`m${i}`);
    box.ack(100);
    for (let i = 501; i <= 1000; i++) box.pushText(`m${i}`);
    const after = parse(box.takeAfter(900));
    expect(after.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 901 + i));
  });
});
