import { isValidCallback, jsonpBody, scriptSafeJson } from '../../shared/jsonp';

describe('callback names', () => {
  test.each(['cb', 'jQuery1124038934732818173_1700000000000', '$', '_x.y.z', 'a.$b', 'PolySocket._cb12'])('%s is accepted', (cb) => {
    expect(isValidCallback(cb)).toBe(true);
  });
  test.each(['', 'alert(1)//', '<script>', 'a..b', 'a.', '.a', '1a', 'a-b', 'a b', 'a[0]', 'x'.repeat(129), 'a\u2028'])(
    '%j is refused',
    (cb) => {
      expect(isValidCallback(cb)).toBe(false);
    },
  );
});

describe('script-safe JSON', () => {
  test('escapes U+2028, U+2029, <, > and & and stays JSON', () => {
    const value = { s: 'a\u2028b\u2029c</script><!--&' };
    const text = scriptSafeJson(value);
    expect(text).not.toMatch(/[\u2028\u2029<>&]/);
    expect(JSON.parse(text)).toEqual(value);
  });
  test('JSONP bodies start with an empty comment', () => {
    expect(jsonpBody('cb', '{}')).toBe('/**/cb({});');
  });
});
