#!/usr/bin/env node
// npm start: build if needed, start the simulated home on loopback, then a local Node-RED on
// 127.0.0.1 (user directory .node-red/ inside the project) with this package loaded from the
// working tree, and the demo flows (every example, on its own tab) deployed on first start.
// `npm start -- --reset` deploys the demo again over your changes. Ctrl-C stops both.
// Everything binds to loopback only.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
// KASA_TAPO_USER_DIR moves the user directory (the tests use a temporary one).
const userDir = process.env.KASA_TAPO_USER_DIR ? path.resolve(process.env.KASA_TAPO_USER_DIR) : path.join(root, '.node-red');

function newest(dir) {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function buildIfNeeded() {
  if (process.env.KASA_TAPO_NO_BUILD) return; // the tests run from the dist/ they just built
  const built = path.join(root, 'dist', 'src', 'index.js');
  const stale = !fs.existsSync(built) || ['src', 'nodes', 'icons'].some((d) => newest(path.join(root, d)) > fs.statSync(built).mtimeMs);
  if (!stale) return;
  console.log('Building…');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.js')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status || 1);
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function freePort(from, tries) {
  for (let p = from; p < from + tries; p++) if (await portFree(p)) return p;
  throw new Error(`no free port in ${from}-${from + tries - 1} on 127.0.0.1`);
}

async function startHome(sim) {
  let last;
  for (let i = 10; i < 20; i++) {
    try {
      return await sim.startSimulatedHome({ baseAddress: `127.0.${i}` });
    } catch (e) {
      last = e;
      if (e.code !== 'EADDRINUSE') break;
    }
  }
  throw last;
}

function prepareUserDir(port) {
  fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  const link = path.join(userDir, 'node_modules', 'node-red-contrib-kasa-tapo');
  if (!fs.existsSync(link)) fs.symlinkSync(root, link, 'dir');
  fs.writeFileSync(
    path.join(userDir, 'settings.js'),
    `// Written by npm start for the local demo. Loopback only.
module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  credentialSecret: 'kasa-tapo-local-demo',
  logging: { console: { level: 'info' } },
  editorTheme: { tours: false, projects: { enabled: false } },
  telemetry: { enabled: false }, // no update check: loopback only, and no consent prompt
};
`,
  );
}

async function main() {
  buildIfNeeded();
  const sim = require(path.join(root, 'dist', 'src', 'simulator'));
  const home = await startHome(sim);
  const port = await freePort(Number(process.env.PORT) || 1880, 10);
  prepareUserDir(port);

  console.log('Simulated devices (credentials demo@example.com / demo-password):');
  for (const d of home.devices) {
    console.log(`  ${`${d.host}:${d.port}`.padEnd(20)} ${d.profile.model.padEnd(12)} ${d.transport.padEnd(8)} ${d.profile.alias}`);
  }

  const red = spawn(process.execPath, [require.resolve('node-red/red.js', { paths: [root] }), '-u', userDir, '-s', path.join(userDir, 'settings.js')], {
    stdio: 'inherit',
  });

  const url = `http://127.0.0.1:${port}`;
  const demo = require('./demo');
  demo
    .waitForNodeRed(url, 60000, () => red.exitCode === null && red.signalCode === null)
    .then(() => demo.deployDemo(url, home, { reset: process.argv.includes('--reset') }))
    .then((what) => {
      console.log(`\nDemo: ${what}. Open the editor and the Debug sidebar (Ctrl-G D).`);
      console.log(`Node-RED editor: ${url}/   (Ctrl-C stops Node-RED and the simulated home)\n`);
    })
    .catch((e) => console.error(`\nThe demo was not deployed: ${e.message}\nNode-RED editor: ${url}/\n`));

  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    if (red.exitCode === null && red.signalCode === null) {
      const exited = new Promise((r) => red.once('exit', r));
      red.kill('SIGINT'); // the Node-RED this script started, by its PID
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
    }
    await home.close();
    process.exit(code);
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  red.on('exit', (code) => stop(code || 0));
}

main().catch((e) => {
  console.error(`npm start failed: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
