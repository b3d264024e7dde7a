/** The line length the formatter is set to (biome.json, 140) is one the code keeps: Biome does not break long strings or comments. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../harness/processes';

const LIMIT = 140;

test(`no source line is longer than ${LIMIT} characters`, () => {
  const files = execFileSync('git', ['ls-files', '*.ts', '*.js', '*.lua'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  expect(files.length).toBeGreaterThan(50);
  const long: string[] = [];
  for (const f of files) {
    readFileSync(path.join(ROOT, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.length > LIMIT) long.push(`${f}:${i + 1} (${line.length})`);
      });
  }
  expect(long).toEqual([]);
});
