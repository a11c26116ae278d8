// The demo that `npm start` deploys: the pool "Simulated home" (the simulated devices, with the
// simulator's public demo credentials) and every example of examples/ on its own tab. Also used
// by the test that deploys every example in a real Node-RED.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { POOL_ID, isSupportedProfile } = require('./examples');

const EXAMPLES_DIR = path.join(__dirname, '..', 'examples');

/** The examples as users import them: [{title, nodes}], in file order. */
function loadExamples(dir = EXAMPLES_DIR) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ title: f.slice(0, -5), nodes: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }));
}

const TRANSPORTS = new Set(['xor', 'klap', 'klap-v1', 'aes', 'tpap']);

/**
 * The pool config node for a running simulated home (the credentials go to Node-RED's store).
 * Same id as the examples' pool, so an example imported into the demo uses it. Devices the
 * library cannot control (the HTTPS camera) are left out: Scan shows them, marked unsupported.
 */
function poolNode(home) {
  return {
    id: POOL_ID,
    type: 'tplink-pool',
    name: 'Simulated home',
    // AES firmware older than login v2 is listed as 'aes-v1': login v1 is never a fallback.
    devices: home.devices
      .filter((d) => isSupportedProfile(d.profile))
      .map((d) => ({
        alias: d.profile.alias,
        host: d.host,
        port: String(d.port),
        transport: d.transport === 'aes' && d.profile.loginVersion === 1 ? 'aes-v1' : TRANSPORTS.has(d.transport) ? d.transport : 'auto',
      })),
    timeout: 5000,
    retries: 2,
    queueLimit: 1000,
    pollInterval: 10,
    broadcast: '127.255.255.255',
    version: 1,
    credentials: { username: home.credentials.username, password: home.credentials.password },
  };
}

/** The whole demo: the pool, then one tab per example. */
function demoFlows(home, examples = loadExamples()) {
  const flows = [poolNode(home)];
  examples.forEach((ex, i) => {
    const z = `kasa-tapo-demo-${String(i + 1).padStart(2, '0')}`;
    flows.push({
      id: z,
      type: 'tab',
      label: ex.title.replace(/^\d+ - /, ''),
      disabled: false,
      info: `Example "${ex.title}" (Import › Examples › node-red-contrib-kasa-tapo).`,
    });
    // The example's own pool node is the demo's pool (same id), which carries the credentials.
    for (const n of ex.nodes) if (n.type !== 'tplink-pool') flows.push({ ...n, z });
  });
  return flows;
}

function request(url, method, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      url,
      { method, timeout: 30000, headers: { accept: 'application/json', ...(data ? { 'content-type': 'application/json' } : {}), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Wait (bounded) until Node-RED's admin API answers. */
async function waitForNodeRed(url, maxMs, alive) {
  const t0 = Date.now();
  for (;;) {
    if (!alive()) throw new Error('Node-RED stopped while starting');
    try {
      const r = await request(`${url}/settings`, 'GET');
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() - t0 > maxMs) throw new Error(`Node-RED did not answer within ${maxMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Deploy the demo on first start (or with reset). On later starts keep the user's flows and only
 * bring the pool's device list up to date with this run's simulated home.
 */
async function deployDemo(url, home, { reset = false } = {}) {
  const current = await request(`${url}/flows`, 'GET', undefined, { 'Node-RED-API-Version': 'v2' });
  if (current.status !== 200) throw new Error(`GET /flows answered ${current.status}`);
  const flows = JSON.parse(current.text).flows || [];
  let next;
  let what;
  if (reset || flows.length === 0) {
    next = demoFlows(home);
    what = 'deployed the demo flows';
  } else {
    const pool = poolNode(home);
    const at = flows.findIndex((n) => n.id === POOL_ID);
    if (at < 0) return 'kept your flows (no "Simulated home" pool in them)';
    next = flows.slice();
    next[at] = { ...flows[at], devices: pool.devices, credentials: pool.credentials };
    what = 'kept your flows and updated the "Simulated home" device list';
  }
  const r = await request(`${url}/flows`, 'POST', { flows: next }, { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' });
  if (r.status !== 200) throw new Error(`deploying the demo failed: ${r.status} ${r.text.slice(0, 300)}`);
  return what;
}

module.exports = { POOL_ID, loadExamples, poolNode, demoFlows, deployDemo, waitForNodeRed };
