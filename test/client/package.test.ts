/**
 * polysocket.js as a package: `polysocket/client` for require and import (the same ES3 body as the
 * script), and types that say what the constructor really returns. The browser side of the ES
 * module is in browser.test.ts.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../harness/processes';

/** Runs node in the project root, where `polysocket/client` resolves through package.json's exports. */
function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

test('require and import of polysocket/client resolve through the exports map, and give undefined outside a browser', () => {
  expect(node(['-e', "console.log(typeof require('polysocket/client'), require.resolve('polysocket/client'))"])).toBe(
    `undefined ${path.join(ROOT, 'client', 'dist', 'polysocket.js')}`,
  );
  expect(
    node(['--input-type=module', '-e', "import P, { PolySocket } from 'polysocket/client'; console.log(typeof P, typeof PolySocket)"]),
  ).toBe('undefined undefined');
});

test('the types compile for an app: new PolySocket(...) is a WebSocket, and the tunnel adds errorCode', () => {
  const program = ts.createProgram([path.join(__dirname, 'fixtures', 'uses-types.ts')], {
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    baseUrl: ROOT,
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(problems).toEqual([]);
});
