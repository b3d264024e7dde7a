/**
 * Which engines a test file runs in, and launching one by name. A file names its own default
 * set; POLYSOCKET_ENGINES (e.g. `chromium,firefox,webkit`) replaces every file's set for a run.
 */
import { launchChromiumEngine } from './chromium';
import { ENGINE_NAMES, type Engine, type EngineName, type EnginePage, type LaunchOptions } from './engine';
import { launchFirefox } from './firefox';
import { launchWebKit } from './webkit';

export type { ConsoleEntry, Engine, EngineName, EnginePage, LaunchOptions } from './engine';
export { playwrightPage } from './chromium';
export { ENGINE_NAMES } from './engine';

/** Every engine; the set a file runs in by default when all three are cheap enough for each `npm test`. */
export const ALL_ENGINES: readonly EngineName[] = ENGINE_NAMES;

/** The engines to run now: POLYSOCKET_ENGINES if set, else the file's `defaults`. */
export function enginesToRun(defaults: readonly EngineName[], env: string | undefined = process.env.POLYSOCKET_ENGINES): EngineName[] {
  if (env === undefined || env.trim() === '') return [...defaults];
  const names = env
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  const unknown = names.filter((n) => !(ENGINE_NAMES as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`POLYSOCKET_ENGINES names ${unknown.join(', ')}: the engines are ${ENGINE_NAMES.join(', ')}`);
  return [...new Set(names)] as EngineName[];
}

/** A new page of `engine` at `url`, loaded; closed again if it does not load. */
export async function openPage(engine: Engine, url: string): Promise<EnginePage> {
  const page = await engine.newPage();
  try {
    await page.goto(url);
  } catch (err) {
    await page.close();
    throw err;
  }
  return page;
}

/**
 * Empties the localStorage of `url`'s origin in `engine` (where polysocket.js remembers a
 * fallback, docs/CLIENT.md): WebKit's tabs share it, so a test that needs a browser remembering
 * nothing clears it first; elsewhere each page starts empty.
 */
export async function clearLocalStorage(engine: Engine, url: string): Promise<void> {
  const page = await openPage(engine, url);
  try {
    await page.evaluate(() => localStorage.clear());
  } finally {
    await page.close();
  }
}

export function launchEngine(name: EngineName, o: LaunchOptions = {}): Promise<Engine> {
  switch (name) {
    case 'chromium':
      return launchChromiumEngine(o);
    case 'firefox':
      return launchFirefox(o);
    case 'webkit':
      return launchWebKit(o);
  }
}
