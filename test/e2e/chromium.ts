/**
 * Headless Chromium for editor tests, driven over the DevTools protocol (Debian's
 * /usr/bin/chromium, or CHROMIUM=path). Loopback only: background networking off and every host
 * name but 127.0.0.1 mapped to "not found". `findChromium()` is undefined when there is none, so
 * a test can skip with a clear message instead of failing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/nodered';

const WebSocket = require(require.resolve('ws', { paths: [path.dirname(require.resolve('node-red/package.json', { paths: [repoRoot()] }))] }));

export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((x): x is string => !!x);
  return candidates.find((c) => fs.existsSync(c));
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start Chromium with one page of width × height CSS pixels. */
export async function openPage(executable: string, width: number, height: number): Promise<Page> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kasa-tapo-chromium-'));
  const chrome: ChildProcess = spawn(
    executable,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-extensions',
      '--disable-default-apps',
      '--mute-audio',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      `--window-size=${width},${height}`,
      '--hide-scrollbars',
      'about:blank',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = async (): Promise<void> => {
    if (chrome.exitCode === null && chrome.signalCode === null) {
      const exited = new Promise((r) => chrome.once('exit', r));
      chrome.kill('SIGTERM'); // the Chromium this helper started, by its PID
      await Promise.race([exited, sleep(5000)]);
      if (chrome.exitCode === null && chrome.signalCode === null) chrome.kill('SIGKILL');
    }
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch {
      /* Chromium's last writes raced us: a temporary directory left behind */
    }
  };
  try {
    const wsUrl = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const on = (c: Buffer) => {
        buf += c.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
        if (m) resolve(m[1]!);
      };
      chrome.stdout!.on('data', on);
      chrome.stderr!.on('data', on);
      chrome.once('exit', () => reject(new Error(`Chromium exited: ${buf.slice(-1000)}`)));
      setTimeout(() => reject(new Error(`Chromium did not start: ${buf.slice(-1000)}`)), 30_000).unref();
    });
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    let next = 1;
    const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { id?: number; error?: { message: string }; result?: unknown };
      const p = m.id !== undefined ? pending.get(m.id) : undefined;
      if (!p) return;
      pending.delete(m.id!);
      if (m.error) p.reject(new Error(m.error.message));
      else p.resolve(m.result);
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const send = (method: string, params: object = {}, sessionId?: string): Promise<any> =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
      });
    const { targetInfos } = await send('Target.getTargets');
    const target = (targetInfos as { type: string; targetId: string }[]).find((t) => t.type === 'page')!;
    const { sessionId } = await send('Target.attachToTarget', { targetId: target.targetId, flatten: true });
    const inPage = (m: string, p: object = {}) => send(m, p, sessionId as string);
    await inPage('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = await inPage('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`${expression.slice(0, 80)}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value as T;
    };
    return {
      evaluate,
      async waitFor(expression, ms) {
        for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(100)) if (await evaluate(expression).catch(() => false)) return;
        throw new Error(`timed out waiting for ${expression}`);
      },
      async navigate(url) {
        await inPage('Page.navigate', { url });
      },
      async screenshot(file) {
        const { data } = await inPage('Page.captureScreenshot', { format: 'png' });
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, Buffer.from(data as string, 'base64'));
      },
      async close() {
        ws.close();
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
