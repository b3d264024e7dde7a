/**
 * relay/form-body.ts parseForm: a send's POST body parsed as node:querystring parses it, faster.
 */
import { parse as querystringParse } from 'node:querystring';
import { parseForm } from '../../relay/form-body';

const form = (body: string) => Object.entries(parseForm(Buffer.from(body)));
const reference = (body: string) => Object.entries(querystringParse(body, '&', '=', { maxKeys: 0 }));

test('fields, repeated names in order, + as space, escapes, empty and missing values', () => {
  expect(parseForm(Buffer.from('n=1&t=t&d=a+b%20c&t=b&d=AAEC%2F%3D&x&=v&&y='))).toEqual(
    Object.assign(Object.create(null), { n: '1', t: ['t', 'b'], d: ['a b c', 'AAEC/='], x: '', '': 'v', y: '' }),
  );
});

test('UTF-8 escapes decode to text, raw UTF-8 passes as it came', () => {
  expect(parseForm(Buffer.from('d=%E2%98%83%F0%9D%84%9E&e=☃é'))).toMatchObject({ d: '☃𝄞', e: '☃é' });
});

test('__proto__ and constructor are plain fields', () => {
  const f = parseForm(Buffer.from('__proto__=1&constructor=2'));
  expect(Object.getPrototypeOf(f)).toBeNull();
  expect(Object.entries(f)).toEqual([
    ['__proto__', '1'],
    ['constructor', '2'],
  ]);
});

test('a malformed escape keeps the text around it, raw UTF-8 included', () => {
  expect(parseForm(Buffer.from('d=50%25+%zz+☃%2'))).toMatchObject({ d: '50% %zz ☃%2' });
  expect(parseForm(Buffer.from('d=%E2%98'))).toMatchObject({ d: '\uFFFD' });
});

test('on 20,000 generated ASCII bodies, every field equals node:querystring', () => {
  // A fixed-seed generator: the same bodies every run.
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const parts = 'a|d|=|&|%|+|2|F|%C3%A9|%E2%98|%zz|%2|%00|__proto__| |%26|%3D|%ED%A0%80|%FF'.split('|');
  for (let i = 0; i < 20_000; i++) {
    let body = '';
    for (let n = next() % 12; n > 0; n--) body += parts[next() % parts.length];
    expect([body, form(body)]).toEqual([body, reference(body)]);
  }
});
