/** The README's settings table is the config table's, row for row: it cannot drift from what the code reads. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { settingsTable } from '../../shared/config';
import { ROOT } from '../harness/processes';

test("every setting is in the README's table, with the roles that read it, its default and its meaning", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const rows = settingsTable();
  expect(rows.length).toBeGreaterThan(40);
  expect(readme).toContain(rows.join('\n'));
});
