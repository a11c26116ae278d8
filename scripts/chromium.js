// Headless Chromium driven over the DevTools protocol, shared by the editor tests
// (test/e2e/chromium.ts) and scripts/screenshots.js: Debian's /usr/bin/chromium, or CHROMIUM=path.
// Loopback only: background networking is off and every host name but 127.0.0.1 is mapped to
// "not found". Types for the TypeScript side: scripts/chromium.d.ts.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const root = path.resolve(__dirname, '..');
// The WebSocket client that Node-RED (a dev dependency) brings along.
const WebSocket = require(require.resolve('ws', { paths: [path.dirname(require.resolve('node-red/package.json', { paths: [root] }))] }));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The first Chromium found (CHROMIUM, then the usual paths), or undefined. */
function findChromium() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((x) => !!x);
  return candidates.find((c) => fs.existsSync(c));
}

/** Resolve with the first match of `re` in the process's output, within `ms`. */
function waitForLine(child, re, ms) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const on = (c) => {
      buf += c.toString();
      const m = buf.match(re);
      if (m) resolve(m);
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', () => reject(new Error(`the process exited: ${buf.slice(-1000)}`)));
    setTimeout(() => reject(new Error(`timed out waiting for ${re}: ${buf.slice(-1000)}`)), ms).unref();
  });
}

/** A minimal DevTools protocol client over one WebSocket: send(method, params, sessionId?). */
async function cdp(wsUrl) {
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  let next = 1;
  const pending = new Map();
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    const p = m.id !== undefined ? pending.get(m.id) : undefined;
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  return { send, close: () => ws.close() };
}

/**
 * Start Chromium (`executable`) with one page of width × height CSS pixels and attach to it.
 * Answers `send` (DevTools calls on the page), `evaluate` (an expression in the page, promises
 * awaited, its value returned) and `close` (stops the Chromium this started, by its PID, and
 * removes its temporary profile). Rejects when Chromium does not start within 30 s.
 */
async function launch(executable, width, height) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kasa-tapo-chromium-'));
  const chrome = spawn(
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
  let browser;
  const stop = async () => {
    browser?.close();
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
    const [, wsUrl] = await waitForLine(chrome, /DevTools listening on (ws:\/\/\S+)/, 30_000);
    browser = await cdp(wsUrl);
    const { targetInfos } = await browser.send('Target.getTargets');
    const target = targetInfos.find((t) => t.type === 'page');
    const { sessionId } = await browser.send('Target.attachToTarget', { targetId: target.targetId, flatten: true });
    const send = (method, params = {}) => browser.send(method, params, sessionId);
    await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const evaluate = async (expression) => {
      const r = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`${expression.slice(0, 80)}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value;
    };
    return { send, evaluate, close: stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

module.exports = { findChromium, launch, waitForLine, sleep };
