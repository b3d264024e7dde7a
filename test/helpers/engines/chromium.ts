/**
 * Chromium behind the engine interface: Debian's chromium through playwright-core, launched by
 * launchChromium (its flags in one place). Playwright stops the browser process on close and
 * on the test process's exit.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../browser';
import { type ConsoleEntry, type Engine, type EnginePage, type LaunchOptions, PageBase } from './engine';

class ChromiumPage extends PageBase {
  private readonly entries: ConsoleEntry[] = [];

  constructor(readonly page: Page) {
    super();
    // playwright names console.warn "warning"; the interface names the console method
    page.on('console', (m) => this.entries.push({ type: m.type() === 'warning' ? 'warn' : m.type(), text: m.text() }));
    page.on('pageerror', (err) => console.error('page error (chromium):', err.message));
  }

  async goto(url: string): Promise<void> {
    await this.page.goto(url);
  }

  async url(): Promise<string> {
    return this.page.url();
  }

  protected evaluateExpression(expression: string): Promise<unknown> {
    return this.page.evaluate(expression);
  }

  async cookies(url: string): Promise<string[]> {
    return (await this.page.context().cookies(url)).map((c) => c.name).sort();
  }

  async console(): Promise<ConsoleEntry[]> {
    return [...this.entries];
  }

  async close(): Promise<void> {
    await this.page.close({ runBeforeUnload: false });
  }
}

class ChromiumEngine implements Engine {
  readonly name = 'chromium';
  readonly prelude = '';

  constructor(
    private readonly browser: Browser,
    private readonly before: string | undefined,
  ) {}

  get version(): string {
    return `Chromium ${this.browser.version()}`;
  }

  async newPage(): Promise<EnginePage> {
    const page = await this.browser.newPage();
    if (this.before) await page.addInitScript(this.before);
    return new ChromiumPage(page);
  }

  close(): Promise<void> {
    return this.browser.close();
  }
}

/** The playwright page behind a Chromium engine's page, for what only Chromium can tell (DevTools); undefined in another engine. */
export function playwrightPage(page: EnginePage): Page | undefined {
  return page instanceof ChromiumPage ? page.page : undefined;
}

export async function launchChromiumEngine(o: LaunchOptions = {}): Promise<Engine> {
  return new ChromiumEngine(await launchChromium({ proxy: o.proxy }), o.before);
}
