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

/**
 * The simulated home on 127.0.10.x (the next 127.0.N if taken). Where those addresses cannot be
 * bound (macOS has only 127.0.0.1 on its loopback interface: EADDRNOTAVAIL), or with
 * KASA_TAPO_HOME_HOST=127.0.0.1, every device goes on 127.0.0.1 with its own port instead; the demo
 * pool lists those ports, and Scan finds nothing there (discovery needs one address per device).
 */
async function startHome(sim) {
  if (process.env.KASA_TAPO_HOME_HOST) return { home: await sim.startSimulatedHome({ host: process.env.KASA_TAPO_HOME_HOST }), shared: true };
  let last;
  for (let i = 10; i < 20; i++) {
    try {
      return { home: await sim.startSimulatedHome({ baseAddress: `127.0.${i}` }), shared: false };
    } catch (e) {
      last = e;
      if (e.code === 'EADDRNOTAVAIL') {
        console.log('127.0.10.x cannot be bound here (macOS has only 127.0.0.1 on loopback): the simulated devices share 127.0.0.1, each on its own port.');
        return { home: await sim.startSimulatedHome({ host: '127.0.0.1' }), shared: true };
      }
      if (e.code !== 'EADDRINUSE') break;
    }
  }
  throw last;
}

/**
 * The settings of the demo's Node-RED. When a browser loads the editor (its first GET /flows), the
 * demo's start-up injects are pressed again a few seconds later, so the Debug sidebar shows
 * messages even when the editor is opened long after npm start (it only shows what arrives while
 * it is connected). At most once a minute. No online palette catalogue: loopback only.
 */
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
  telemetry: { enabled: false }, // no update check: loopback only, and no consent prompt
  editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } }, // no online catalogue
  httpAdminMiddleware: (() => {
    let last = 0;
    const replay = () => {
      let flows = [];
      try { flows = JSON.parse(require('fs').readFileSync(require('path').join(__dirname, 'flows.json'), 'utf8')); } catch { return; }
      for (const n of flows) {
        if (n.type !== 'inject' || !n.once || !String(n.z || '').startsWith('kasa-tapo-demo-')) continue;
        const req = require('http').request({ host: '127.0.0.1', port: ${port}, path: '/inject/' + n.id, method: 'POST', headers: { 'user-agent': 'kasa-tapo-demo' } });
        req.on('error', () => undefined);
        req.end();
      }
    };
    return function (req, res, next) {
      if (req.method === 'GET' && req.path === '/flows' && /Mozilla/.test(req.headers['user-agent'] || '') && Date.now() - last > 60000) {
        last = Date.now();
        setTimeout(replay, 4000).unref();
      }
      next();
    };
  })(),
};
`,
  );
}

async function main() {
  buildIfNeeded();
  const sim = require(path.join(root, 'dist', 'src', 'simulator'));
  const { home, shared } = await startHome(sim);
  const port = await freePort(Number(process.env.PORT) || 1880, 10);
  prepareUserDir(port);

  console.log('Simulated devices (credentials demo@example.com / demo-password):');
  if (shared) console.log('(all on 127.0.0.1: Scan finds none of them; the demo pool lists each by port)');
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
