#!/usr/bin/env node
// Takes the README's pictures from the real editor: starts `npm start` (temporary user directory,
// so your own .node-red is untouched), opens the editor in headless Chromium (Debian's
// /usr/bin/chromium, or CHROMIUM=path), and saves PNGs to docs/images/. Loopback only: Chromium's
// background networking is off and every host name but 127.0.0.1 is mapped to "not found".
//
//   node scripts/screenshots.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { launch, sleep, waitForLine } = require('./chromium');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'docs', 'images');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const children = [];
/** The Chromium this script started (stopped by stopAll on any exit). */
let browser;

function post(url) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kasa-tapo-shots-'));
  const start = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
    env: { ...process.env, KASA_TAPO_USER_DIR: userDir, PORT: process.env.PORT || '18880' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(start);
  const [, editor] = await waitForLine(start, /Node-RED editor: (http:\/\/127\.0\.0\.1:\d+)\//, 120000);

  browser = await launch(chromiumPath, 1680, 960);
  const { send, evaluate } = browser;
  const waitFor = async (expression, ms) => {
    for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(200)) if (await evaluate(expression).catch(() => false)) return;
    const where = await evaluate("location.href + ' | ' + document.title + ' | ' + (typeof RED) + ' | ' + document.body.innerText.slice(0, 300)").catch(
      (e) => e.message,
    );
    throw new Error(`timed out waiting for ${expression} (page: ${where})`);
  };
  const shot = async (name) => {
    const { data } = await send('Page.captureScreenshot', { format: 'png' });
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, name), Buffer.from(data, 'base64'));
    console.log(`wrote docs/images/${name}`);
  };

  await send('Page.navigate', { url: `${editor}/` });
  await waitFor(
    "!!(window.RED && RED.nodes && RED.nodes.filterNodes({type: 'tplink-action'}).length && document.querySelector('#red-ui-workspace-chart'))",
    60000,
  );
  await sleep(1500);

  // 1. The room example with the debug sidebar: press its buttons so fresh messages show.
  const tab = 'kasa-tapo-demo-02';
  await evaluate(`RED.workspaces.show(${JSON.stringify(tab)}); RED.sidebar.show('debug'); true`);
  await sleep(500);
  const injects = await evaluate(`RED.nodes.filterNodes({z: ${JSON.stringify(tab)}, type: 'inject'}).map((n) => n.id)`);
  for (const id of injects) await post(`${editor}/inject/${id}`);
  await sleep(3500);
  await shot('demo-flow.png');

  // 2. The action node's editor, as a user opens it.
  const switchTab = 'kasa-tapo-demo-01';
  await evaluate(`RED.workspaces.show(${JSON.stringify(switchTab)}); true`);
  await sleep(500);
  for (const id of await evaluate(`RED.nodes.filterNodes({z: ${JSON.stringify(switchTab)}, type: 'inject'}).map((n) => n.id)`))
    await post(`${editor}/inject/${id}`);
  await sleep(1500);
  await shot('switch-a-plug.png');
  await evaluate(`RED.editor.edit(RED.nodes.filterNodes({z: ${JSON.stringify(switchTab)}, type: 'tplink-action'})[0]); true`);
  await sleep(1500);
  await shot('action-node-editor.png');

  // 3. The pool's editor: the device list, Scan and Test.
  await evaluate(`RED.tray.close(); true`);
  await sleep(800);
  await evaluate(`RED.editor.editConfig('', 'tplink-pool', 'kasa-tapo-home'); true`);
  await sleep(1500);
  await evaluate(`document.querySelectorAll('.red-ui-editableList-container, .red-ui-tray-body').forEach((e) => (e.scrollTop = 0)); true`);
  await sleep(300);
  await shot('pool-editor.png');

  // 4. Scan in the pool editor: the simulated home found on 127.255.255.255, listed devices ticked.
  await evaluate(`$('#node-config-tplink-scan').trigger('click'); true`);
  await waitFor("document.querySelectorAll('#node-config-tplink-scan-result tr[data-host]').length > 5", 30000);
  await sleep(500);
  await shot('pool-scan.png');
  await evaluate(`RED.tray.close(); true`);
  await sleep(800);

  // 5. The TP-Link sidebar: every device of the pool, read through the pool's sessions.
  await evaluate(`RED.tray.close(); RED.sidebar.show('tplink-devices'); true`);
  await sleep(12000); // two refreshes, so the sparklines have points
  await evaluate(`RED.sidebar.show('debug'); RED.sidebar.show('tplink-devices'); true`);
  await sleep(3000);
  await shot('sidebar.png');

  await browser.close();
  fs.rmSync(userDir, { recursive: true, force: true });
}

async function stopAll() {
  await browser?.close();
  for (const c of children.reverse()) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGINT'); // only the processes this script started, by PID
      await Promise.race([new Promise((r) => c.once('exit', r)), sleep(10000)]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }
}

main()
  .catch((e) => {
    console.error(`screenshots failed: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(stopAll);
