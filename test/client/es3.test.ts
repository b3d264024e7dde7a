/**
 * The shipped bundle must parse in IE 6: ECMAScript 3, reserved words refused as property names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { es3Problems } = require('../../client/es3-check');
const dist = (name: string) => readFileSync(path.resolve(__dirname, '../../client/dist', name), 'utf8');

test.each(['polysocket.js', 'polysocket.min.js'])('%s parses as ECMAScript 3', (name) => {
  expect(es3Problems(dist(name))).toEqual([]);
});

test('the gate catches what IE 8 cannot parse', () => {
  expect(es3Problems('var a = { x: 1, };')[0]).toMatch(/parse/);
  expect(es3Problems('var a = [1, 2,];')).toEqual([expect.stringContaining('trailing comma')]);
  expect(es3Problems('p.catch(f);')[0]).toMatch(/parse/);
  expect(es3Problems('var o = { default: 1 };')[0]).toMatch(/parse/);
  expect(es3Problems('var o = { get x() { return 1; } };')[0]).toMatch(/parse/);
  expect(es3Problems('[1].forEach(f);')[0]).toMatch(/forEach/);
  expect(es3Problems('var s = JSON.stringify(x);')[0]).toMatch(/JSON/);
});

test('every request names the client version; the bundle is served with its version', () => {
  const version = require('../../package.json').version;
  expect(dist('polysocket.js')).toContain(`var VERSION = '${version}'`);
  expect(dist('polysocket.js')).toContain("'polysocket.js-' + VERSION");
});

// 8 KB until the streamed receive (docs/CLIENT.md, "Receive paths"): its two readers, the
// prelude fallback and renewal cost about 0.9 KB (7.8 KB before, 8.7 KB with them)
test('min+gzip stays under 9 KB', () => {
  expect(gzipSync(dist('polysocket.min.js'), { level: 9 }).length).toBeLessThan(9 * 1024);
});

test('the client source passes ESLint configured for ES3, and that config refuses ES5 syntax and stray globals', async () => {
  const { ESLint } = require('eslint');
  // the project's config, given directly: jest cannot load it by ESLint's dynamic import
  const eslint = new ESLint({
    cwd: path.resolve(__dirname, '../..'),
    overrideConfigFile: true,
    overrideConfig: require('../../eslint.config.js'),
  });
  const [source] = await eslint.lintFiles(['client/src/polysocket.js']);
  expect(source.messages.map((m: { message: string; line: number }) => `${m.line}: ${m.message}`)).toEqual([]);
  const lint = async (code: string) =>
    (await eslint.lintText(code, { filePath: 'client/src/polysocket.js' }))[0].messages.map((m: { message: string }) => m.message);
  expect((await lint('var o = { get x() { return 1; } };\n'))[0]).toMatch(/Parsing error/);
  expect(await lint('(function () { leaked(); })();\n')).toEqual(["'leaked' is not defined."]);
  expect((await lint("(function () { var a = 1; if (a == '1') a = 2; })();\n"))[0]).toMatch(/Expected '===' /);
});
