/**
 * ESLint for the one file Biome does not check: the client, hand-kept ECMAScript 3 (it must parse
 * in IE 6). espree parses it as ES3 as a script; the rules are the correctness ones that matter in
 * a file with no build step and no types. client/es3-check.js adds what a parser lets through
 * (trailing commas, ES5 library calls).
 */
'use strict';

module.exports = [
  {
    files: ['client/src/polysocket.js'],
    languageOptions: {
      ecmaVersion: 3,
      sourceType: 'script',
      // the UMD head reads these (the body gets window and document as arguments)
      globals: { module: 'readonly', define: 'readonly', window: 'readonly', document: 'readonly' },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-undef': 'error',
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      'no-redeclare': 'error',
      'no-shadow-restricted-names': 'error',
      'no-dupe-keys': 'error',
      'no-duplicate-case': 'error',
      'no-unreachable': 'error',
      'no-fallthrough': 'error',
      'no-self-assign': 'error',
      'no-self-compare': 'off', // x !== x is the ES3 NaN test
      'no-use-before-define': ['error', { functions: false, variables: false }],
      'no-loop-func': 'error',
      'no-implicit-globals': 'error',
      'no-global-assign': 'error',
      'no-eval': 'error',
      'no-with': 'error',
      'no-caller': 'error',
      'no-proto': 'error',
      'no-sequences': 'error',
      'no-throw-literal': 'off', // a rethrown caught value is not a literal
      eqeqeq: ['error', 'always'],
      curly: ['error', 'multi-line'],
      'guard-for-in': 'off', // every for-in here guards with hasOwnProperty or walks own maps
      'wrap-iife': ['error', 'inside'],
      strict: 'off',
    },
  },
];
