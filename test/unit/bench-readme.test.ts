/**
 * bench/README.md says how to run the benchmark and shows the latest full run as it was written;
 * the rounds' history lives in bench/HISTORY.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const bench = (name: string) => readFileSync(path.resolve(__dirname, '../../bench', name), 'utf8');

test("bench/README.md shows the latest full run's tables as npm run bench wrote them", () => {
  const latest = bench('results/latest.md').trim().split('\n').slice(1).join('\n');
  expect(bench('README.md')).toContain(latest);
});

test('bench/README.md starts with how to run it; dated rounds are in bench/HISTORY.md', () => {
  const readme = bench('README.md');
  expect(readme.slice(0, 200)).toContain('npm run bench');
  expect(readme).not.toMatch(/^## .*round/im);
  expect(bench('HISTORY.md')).toMatch(/^## Performance round 2/m);
});
