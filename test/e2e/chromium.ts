/**
 * Headless Chromium for editor tests, driven over the DevTools protocol through the client shared
 * with scripts/screenshots.js (scripts/chromium.js: Debian's /usr/bin/chromium, or CHROMIUM=path;
 * loopback only). `findChromium()` is undefined when there is none, so a test can skip with a clear
 * message instead of failing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Chromium from '../../scripts/chromium';
import { repoRoot } from '../helpers/nodered';

// Loaded from the source tree (a plain script, not compiled into dist/).
const shared = require(path.join(repoRoot(), 'scripts', 'chromium.js')) as typeof Chromium;

export function findChromium(): string | undefined {
  return shared.findChromium();
}

export interface Page {
  /** Evaluate an expression in the page (promises awaited) and return its value. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Wait (bounded) until the expression is truthy. */
  waitFor(expression: string, ms: number): Promise<void>;
  navigate(url: string): Promise<void>;
  screenshot(file: string): Promise<void>;
  close(): Promise<void>;
}

/** Start Chromium with one page of width × height CSS pixels. */
export async function openPage(executable: string, width: number, height: number): Promise<Page> {
  const b = await shared.launch(executable, width, height);
  return {
    evaluate: (expression) => b.evaluate(expression),
    async waitFor(expression, ms) {
      for (const t0 = Date.now(); Date.now() - t0 < ms; await shared.sleep(100)) if (await b.evaluate(expression).catch(() => false)) return;
      throw new Error(`timed out waiting for ${expression}`);
    },
    async navigate(url) {
      await b.send('Page.navigate', { url });
    },
    async screenshot(file) {
      const { data } = await b.send('Page.captureScreenshot', { format: 'png' });
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, Buffer.from(data as string, 'base64'));
    },
    close: () => b.close(),
  };
}
