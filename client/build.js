#!/usr/bin/env node
/**
 * Builds client/dist/polysocket.js (+ .min.js, .d.ts) from the hand-kept ES3 source and refuses
 * to write anything that would not parse in IE 6 (see es3-check.js).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { minify } = require('terser');
const { es3Problems } = require('./es3-check');

const here = __dirname;
const version = require('../package.json').version;

async function main() {
  const source = fs.readFileSync(path.join(here, 'src', 'polysocket.js'), 'utf8').replace(/@VERSION@/g, version);
  const min = await minify(source, {
    ie8: true,
    ecma: 5,
    compress: { passes: 2 },
    mangle: true,
    format: { ascii_only: true, comments: /^!/ },
  });
  const esm = esModule(source);
  const out = path.join(here, 'dist');
  fs.mkdirSync(out, { recursive: true });
  for (const [name, code] of [
    ['polysocket.js', source],
    ['polysocket.min.js', min.code],
  ]) {
    const problems = es3Problems(code);
    if (problems.length) {
      process.stderr.write(`${name} is not ECMAScript 3:\n  ${problems.join('\n  ')}\n`);
      process.exit(1);
    }
    fs.writeFileSync(path.join(out, name), code);
  }
  // The ES module wraps the very body checked above; only its last lines (export) are not ES3.
  fs.writeFileSync(path.join(out, 'polysocket.mjs'), esm);
  fs.copyFileSync(path.join(here, 'src', 'polysocket.d.ts'), path.join(out, 'polysocket.d.ts'));
  const gz = zlib.gzipSync(min.code, { level: 9 }).length;
  process.stdout.write(`client: polysocket.js ${source.length} B, min ${min.code.length} B, min+gzip ${gz} B\n`);
}

/** polysocket.mjs: the factory of the UMD source, called with the page's window, as default and named export. */
function esModule(source) {
  const head = '})(this, function (window, document) {\n';
  const start = source.indexOf(head);
  const end = source.lastIndexOf('});');
  if (start < 0 || end < start) throw new Error('client/src/polysocket.js: the UMD wrapper is not where the build expects it');
  const banner = source.slice(0, source.indexOf('\n') + 1);
  const body = source.slice(start + head.length, end);
  return `${banner}var PolySocket =
  typeof window === 'undefined'
    ? undefined
    : (function (window, document) {
${body}})(window, document);
export default PolySocket;
export { PolySocket };
`;
}

main().catch((err) => {
  process.stderr.write(`client build failed: ${err.stack || err}\n`);
  process.exit(1);
});
