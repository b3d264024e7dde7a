/** The relay and polysocket.js refuse the same ports: the Fetch standard's bad ports. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BAD_PORTS } from '../../shared/bad-ports';
import { ROOT } from '../harness/processes';

test("polysocket.js carries the relay's list of bad ports, exactly", () => {
  const source = readFileSync(path.join(ROOT, 'client', 'src', 'polysocket.js'), 'utf8');
  const m = /var BAD_PORTS = ((?:\s*'[\d,]*'\s*\+?)+);/.exec(source);
  expect(m).not.toBeNull();
  const listed = (m![1].match(/'([\d,]*)'/g) ?? [])
    .map((q) => q.slice(1, -1))
    .join('')
    .split(',')
    .filter(Boolean)
    .map(Number);
  expect(listed).toEqual([...BAD_PORTS]);
});
