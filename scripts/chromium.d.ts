// Types of scripts/chromium.js for the TypeScript side (test/e2e/chromium.ts).
import type { ChildProcess } from 'node:child_process';

export interface Browser {
  /** A DevTools protocol call on the page; resolves with its result. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  send(method: string, params?: object): Promise<any>;
  /** Evaluate an expression in the page (promises awaited) and return its value; throws the page's exception. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Stop the Chromium this started and remove its temporary profile. Never rejects. */
  close(): Promise<void>;
}

export function findChromium(): string | undefined;
export function launch(executable: string, width: number, height: number): Promise<Browser>;
export function waitForLine(child: ChildProcess, re: RegExp, ms: number): Promise<RegExpMatchArray>;
export function sleep(ms: number): Promise<void>;
