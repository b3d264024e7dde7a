/**
 * The ES3 gate: parses with acorn at ecmaVersion 3 with reserved words refused even as property
 * names (IE 8's parser), then looks for what acorn lets through in that mode: trailing commas
 * (IE miscounts arrays, older IE refuses objects) and ES5 library calls
 * (JSON and Object.defineProperty/create are allowed only as window.JSON and window.Object.x,
 * which the client feature-tests first).
 */
'use strict';
const acorn = require('acorn');

const ES5_CALLS = [
  /\.forEach\(/,
  /\.map\(/,
  /\.filter\(/,
  /\.reduce\(/,
  /\.some\(/,
  /\.every\(/,
  // only as window.Object.x, behind a feature test (like window.JSON)
  /(^|[^.\w$])Object\.(keys|create|defineProperty|freeze)\(/,
  /Array\.isArray\(/,
  /\.bind\(/,
  /\.trim\(\)/,
  /Date\.now\(/,
  /(^|[^.\w$])JSON\.(parse|stringify)\(/,
];

function es3Problems(code) {
  const problems = [];
  try {
    acorn.parse(code, { ecmaVersion: 3, allowReserved: 'never', sourceType: 'script' });
  } catch (err) {
    problems.push(`parse: ${err.message}`);
    return problems;
  }
  let prev = null;
  for (const tok of acorn.tokenizer(code, { ecmaVersion: 3, allowReserved: 'never' })) {
    if (prev && prev.type.label === ',' && (tok.type.label === '}' || tok.type.label === ']'))
      problems.push(`trailing comma at ${prev.start}`);
    prev = tok;
  }
  for (const re of ES5_CALLS) {
    const m = re.exec(code);
    if (m) problems.push(`ES5 call ${m[0]} at ${m.index}`);
  }
  return problems;
}

module.exports = { es3Problems };
