/**
 * End to end, as a palette user gets it: `npm pack`, the tarball installed into a fresh Node-RED
 * user directory with `--omit=dev --engine-strict`, that Node-RED started on 127.0.0.1 with admin
 * auth on, and a flow using all four nodes deployed through the admin API against simulated
 * Kasa (XOR) and Tapo (KLAP, AES) devices. Also the editor's Scan and Test endpoints, which must
 * refuse a caller without a token or without write permission.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';
import { Collector, flowNode, installPackedPackage, report, repoRoot, startNodeRed, tempDir, type NodeRed } from '../helpers/nodered';

const CREDS = { username: 'e2e-user@example.com', password: 'E2e-Secret-Pass-77' };
const ADMIN = { username: 'admin', password: 'admin-e2e-pw' };
const READER = { username: 'reader', password: 'reader-e2e-pw' };

function bcrypt(pw: string): string {
  const bc = require(require.resolve('bcryptjs', { paths: [path.dirname(require.resolve('node-red/package.json', { paths: [repoRoot()] }))] })) as {
    hashSync(p: string, r: number): string;
  };
  return bc.hashSync(pw, 8);
}

describe('end to end: the packed package in a real Node-RED', function () {
  this.timeout(240_000);
  let devices: SimulatedDevice[] = [];
  let red: NodeRed | undefined;
  const collector = new Collector();
  let userDir = '';
  let packedFiles: string[] = [];

  before(async function () {
    const base = randomBase();
    const ids = ['hs110v1', 'p110', 'p100', 'c210', 'p110tpap'];
    for (const [i, id] of ids.entries()) devices.push(await startSimulatedDevice(id, { host: `${base}.${i + 1}`, credentials: CREDS, discovery: true }));
    await collector.start();
    userDir = tempDir('e2e');
    packedFiles = (await installPackedPackage(userDir)).files;
    red = await startNodeRed({
      userDir,
      settings: `adminAuth: { type: 'credentials', users: [
        { username: ${JSON.stringify(ADMIN.username)}, password: ${JSON.stringify(bcrypt(ADMIN.password))}, permissions: '*' },
        { username: ${JSON.stringify(READER.username)}, password: ${JSON.stringify(bcrypt(READER.password))}, permissions: 'read' } ] },`,
    });
  });

  after(async function () {
    const code = await red?.stop();
    await collector.close();
    await Promise.all(devices.map((d) => d.close()));
    devices = [];
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    if (red) assert.ok(code === 0 || code === null, `Node-RED exited with ${code}`);
  });

  it('packs only what users need and installs with --omit=dev --engine-strict, node-forge included', () => {
    for (const f of [
      'dist/nodes/tplink-pool.js',
      'dist/nodes/tplink-pool.html',
      'dist/nodes/icons/tplink-pool.svg',
      'dist/nodes/locales/en-US/tplink-action.json',
      'README.md',
      'LICENSE',
    ]) {
      assert.ok(packedFiles.includes(f), `tarball lacks ${f}`);
    }
    assert.ok(
      !packedFiles.some((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.startsWith('src/')),
      'tarball carries tests, bench or TypeScript sources',
    );
    assert.ok(!packedFiles.some((f) => f.startsWith('dist/nodes/') && f.endsWith('.d.ts')), "tarball carries the nodes' .d.ts files");
    // The README's pictures travel with it (the npm page and the flows library show the README).
    const readme = fs.readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
    for (const m of readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g))
      if (!/^https?:/.test(m[1]!)) assert.ok(packedFiles.includes(m[1]!), `README picture ${m[1]} is not in the tarball`);
    assert.ok(fs.existsSync(path.join(userDir, 'node_modules', 'node-red-contrib-kasa-tapo', 'dist', 'nodes', 'tplink-pool.js')));
    assert.ok(fs.existsSync(path.join(userDir, 'node_modules', 'node-forge', 'package.json')), 'runtime dependency node-forge installed');
    const deps = Object.keys(
      (JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {},
    );
    for (const dep of deps) assert.ok(fs.existsSync(path.join(userDir, 'node_modules', dep, 'package.json')), `runtime dependency ${dep} installed`);
    assert.ok(!fs.existsSync(path.join(userDir, 'node_modules', 'mocha')), 'a dev dependency was installed');
  });

  it('refuses the admin API, Scan and Test to a caller without a token, and Scan/Test to a read-only user', async () => {
    const r = red!;
    assert.equal((await r.request('GET', '/flows')).status, 401);
    assert.equal((await r.request('POST', '/tplink-pool/scan', { broadcast: '127.255.255.255' })).status, 401);
    assert.equal((await r.request('POST', '/tplink-pool/test', { host: devices[0]!.host })).status, 401);
    await r.login(READER.username, READER.password, 'read');
    // Node-RED answers a missing permission with 401 as well (auth.needsPermission).
    assert.equal((await r.request('POST', '/tplink-pool/scan', { broadcast: '127.255.255.255' })).status, 401);
    assert.equal((await r.request('POST', '/tplink-pool/test', { host: devices[0]!.host })).status, 401);
    assert.equal((await r.request('GET', '/flows')).status, 200, 'the reader can read');
    await r.login(ADMIN.username, ADMIN.password);
  });

  it('loads all four node types with no load error, and serves every icon', async () => {
    const r = red!;
    const sets = (await r.request('GET', '/nodes')).json as { module: string; types: string[]; err?: string; enabled: boolean }[];
    const ours = sets.filter((s) => s.module === 'node-red-contrib-kasa-tapo');
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), ['tplink-action', 'tplink-energy', 'tplink-pool', 'tplink-state']);
    for (const s of ours) {
      assert.equal(s.err, undefined, `load error: ${s.err}`);
      assert.equal(s.enabled, true);
    }
    assert.ok(!/\[(error|warn)\].*(kasa|tplink)/i.test(r.log()), `Node-RED logged a problem:\n${r.log()}`);
    const icons = ((await r.request('GET', '/icons')).json as Record<string, string[]>)['node-red-contrib-kasa-tapo'] ?? [];
    for (const t of ['tplink-pool', 'tplink-action', 'tplink-state', 'tplink-energy']) {
      assert.ok(icons.includes(`${t}.svg`), `icon ${t}.svg not registered; got ${icons.join(',')}`);
      const icon = await r.request('GET', `/icons/node-red-contrib-kasa-tapo/${t}.svg`);
      assert.equal(icon.status, 200);
      assert.match(String(icon.headers['content-type']), /svg/);
      assert.match(icon.text, /<svg/);
    }
    // The editor's HTML and help for our nodes are served.
    const html = await r.request('GET', '/nodes', undefined, { accept: 'text/html' });
    for (const t of ['tplink-pool', 'tplink-action', 'tplink-state', 'tplink-energy'])
      assert.ok(html.text.includes(`registerType('${t}'`) || html.text.includes(`registerType("${t}"`), `${t} editor code missing`);
  });

  it('Scan finds the simulated devices on 127.255.255.255 and Test checks one with the saved credentials', async () => {
    const r = red!;
    const scan = await r.request('POST', '/tplink-pool/scan', {
      broadcast: '127.255.255.255',
      timeout: 1500,
      username: CREDS.username,
      password: CREDS.password,
    });
    assert.equal(scan.status, 200, scan.text);
    const found = scan.json.devices as { host: string; model: string; protocol: string; supported: boolean; auth: string }[];
    const byHost = new Map(found.map((d) => [d.host, d]));
    assert.equal(byHost.get(devices[0]!.host)?.protocol, 'xor');
    assert.equal(byHost.get(devices[0]!.host)?.auth, 'not needed');
    assert.equal(byHost.get(devices[1]!.host)?.model, 'P110');
    assert.equal(byHost.get(devices[1]!.host)?.auth, 'ok');
    assert.equal(byHost.get(devices[2]!.host)?.protocol, 'aes');
    // An AES login shows the device a password hash: never sent to a host no pool lists.
    assert.equal(byHost.get(devices[2]!.host)?.auth, 'not tried');
    // A TPAP device (2025+ firmware): supported, the login works, and the alias comes from that login.
    const tpap = byHost.get(devices[4]!.host) as { protocol: string; supported: boolean; auth: string; alias?: string } | undefined;
    assert.equal(tpap?.protocol, 'tpap');
    assert.equal(tpap?.supported, true);
    assert.equal(tpap?.auth, 'ok');
    assert.equal(tpap?.alias, 'Heater');
    const tested = await r.request('POST', '/tplink-pool/test', {
      host: devices[4]!.host,
      port: devices[4]!.port,
      transport: 'tpap',
      username: CREDS.username,
      password: CREDS.password,
    });
    assert.equal(tested.json.ok, true, tested.text);
    assert.equal(tested.json.device.alias, 'Heater');
    assert.equal(tested.json.device.protocol, 'tpap');
    assert.ok(!scan.text.includes(CREDS.password));
    // Every device logged in to comes back named: KLAP aliases are read during the login check.
    for (const d of devices.slice(0, 2))
      assert.equal((byHost.get(d.host) as { alias?: string } | undefined)?.alias, d.profile.alias, `no alias for ${d.profile.model} (${d.transport})`);
    const bad = await r.request('POST', '/tplink-pool/test', {
      host: devices[1]!.host,
      port: devices[1]!.port,
      transport: 'klap',
      username: CREDS.username,
      password: 'wrong-password',
    });
    assert.equal(bad.json.ok, false);
    assert.equal(bad.json.code, 'EAUTH');
    assert.ok(!bad.text.includes('wrong-password'));
    // Test on a device we cannot control says why, as Scan does (not ECONNRESET).
    const camera = devices[3]!;
    assert.equal(byHost.get(camera.host)?.supported, false);
    const cam = await r.request('POST', '/tplink-pool/test', { host: camera.host, port: camera.port, transport: 'auto' });
    assert.equal(cam.json.ok, false);
    assert.equal(cam.json.code, 'EUNSUPPORTED', cam.text);
    assert.equal(cam.json.reason, (byHost.get(camera.host) as { reason?: string }).reason);
  });

  it('runs a flow with all four nodes: outputs for Kasa and Tapo, polling, Catch, status', async () => {
    const r = red!;
    const [fridge, dish, coffee] = devices as [SimulatedDevice, SimulatedDevice, SimulatedDevice];
    const z = 'e2e-tab';
    const url = collector.url;
    const entry = (alias: string, d: SimulatedDevice) => ({
      alias,
      host: d.host,
      port: String(d.port),
      transport: d.transport === 'aes' && d.profile.loginVersion === 1 ? 'aes-v1' : d.transport,
    });
    const inject = (id: string, wire: string, payload: string, payloadType: string, y: number) =>
      flowNode('inject', { id, z, name: id, payload, payloadType, x: 100, y, wires: [[wire]] });
    const flows: unknown[] = [
      { id: z, type: 'tab', label: 'e2e', disabled: false, info: '' },
      {
        id: 'e2e-pool',
        type: 'tplink-pool',
        name: 'e2e home',
        timeout: 3000,
        retries: 1,
        queueLimit: 100,
        pollInterval: 1,
        broadcast: '127.255.255.255',
        version: 1,
        devices: [entry('Fridge', fridge), entry('Dishwasher', dish), entry('Coffee Maker', coffee)],
        credentials: { ...CREDS },
      },
      inject('inj-fridge', 'act-fridge', 'on', 'str', 40),
      flowNode('tplink-action', { id: 'act-fridge', z, pool: 'e2e-pool', device: 'Fridge', x: 300, y: 40, wires: [['rep-fridge']] }),
      ...report('rep-fridge', 'act-fridge', url, z, 600, 40),
      inject('inj-dish', 'act-dish', '{"on":false}', 'json', 80),
      flowNode('tplink-action', { id: 'act-dish', z, pool: 'e2e-pool', device: 'Dishwasher', x: 300, y: 80, wires: [['rep-dish']] }),
      ...report('rep-dish', 'act-dish', url, z, 600, 80),
      inject('inj-coffee', 'state-coffee', '', 'date', 120),
      flowNode('tplink-state', { id: 'state-coffee', z, pool: 'e2e-pool', device: 'Coffee Maker', onlyChanges: true, x: 300, y: 120, wires: [['rep-coffee']] }),
      ...report('rep-coffee', 'state-coffee', url, z, 600, 120),
      inject('inj-energy', 'energy-dish', '', 'date', 160),
      flowNode('tplink-energy', { id: 'energy-dish', z, pool: 'e2e-pool', device: 'Dishwasher', x: 300, y: 160, wires: [['rep-energy']] }),
      ...report('rep-energy', 'energy-dish', url, z, 600, 160),
      inject('inj-hist', 'energy-hist', '{"period":"day"}', 'json', 200),
      flowNode('tplink-energy', { id: 'energy-hist', z, pool: 'e2e-pool', device: 'Fridge', mode: 'day', x: 300, y: 200, wires: [['rep-hist']] }),
      ...report('rep-hist', 'energy-hist', url, z, 600, 200),
      flowNode('tplink-state', {
        id: 'state-all',
        z,
        pool: 'e2e-pool',
        target: 'all',
        mode: 'poll',
        interval: '1',
        onlyChanges: true,
        x: 300,
        y: 240,
        wires: [['rep-poll']],
      }),
      ...report('rep-poll', 'poll', url, z, 600, 240),
      inject('inj-bad', 'act-bad', '{"brightness":50}', 'json', 280),
      flowNode('tplink-action', { id: 'act-bad', z, pool: 'e2e-pool', device: 'Fridge', x: 300, y: 280, wires: [['rep-bad']] }),
      ...report('rep-bad', 'act-bad', url, z, 600, 280),
      { id: 'catch', type: 'catch', z, name: '', scope: null, uncaught: false, x: 100, y: 320, wires: [['rep-catch']] },
      ...report('rep-catch', 'catch', url, z, 600, 320),
      { id: 'status', type: 'status', z, name: '', scope: ['act-fridge', 'state-coffee'], x: 100, y: 360, wires: [['rep-status']] },
      ...report('rep-status', 'status', url, z, 600, 360),
    ];
    await r.deploy(flows);

    // The credentials went to the credentials store, not into flows.json.
    const flowFile = fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8');
    assert.ok(!flowFile.includes(CREDS.password) && !flowFile.includes(CREDS.username), 'credentials leaked into flows.json');
    const listed = (await r.request('GET', '/flows')).text;
    assert.ok(!listed.includes(CREDS.password), 'GET /flows shows the password');

    for (const id of ['inj-fridge', 'inj-dish', 'inj-coffee', 'inj-energy', 'inj-hist', 'inj-bad']) await r.inject(id);

    const [f] = await collector.waitFor('act-fridge');
    assert.equal(f.payload.on, true);
    assert.match(f.payload.model, /^HS110/);
    assert.equal(f.device.alias, 'Fridge');
    assert.ok(f.raw, 'msg.raw carries the device answer');
    const [d] = await collector.waitFor('act-dish');
    assert.equal(d.payload.on, false);
    assert.match(d.payload.model, /^P110/);
    const [c] = await collector.waitFor('state-coffee');
    assert.equal(c.payload.model, 'P100');
    assert.equal(typeof c.payload.on, 'boolean');
    assert.equal(c.online, true);
    const [e] = await collector.waitFor('energy-dish');
    assert.equal(typeof e.payload.powerW, 'number');
    const [h] = await collector.waitFor('energy-hist');
    assert.equal(h.payload.period, 'day');
    assert.ok(Array.isArray(h.payload.entries) && h.payload.entries.length > 0);
    const [caught] = await collector.waitFor('catch');
    assert.equal(caught.error.source.id, 'act-bad');
    assert.match(caught.error.message, /HS110/);
    assert.equal(collector.tagged('act-bad').length, 0, 'a failed message also produced an output');

    // Polling all three devices: one message each, then a summary.
    const polled = await collector.waitFor('poll', 4);
    const summary = polled.find((m) => m.topic === 'summary');
    assert.ok(summary, `no summary in ${JSON.stringify(polled.map((m) => m.topic))}`);
    assert.equal(summary.payload.total, 3);
    assert.deepEqual(summary.payload.offline, []);

    // Node status reached a status node: green dot with text.
    const sts = await collector.waitFor('status', 1);
    assert.ok(
      sts.some((s) => s.status?.fill === 'green'),
      JSON.stringify(sts.map((s) => s.status)),
    );
    // Status texts are catalogue keys translated by the runtime: never a raw key.
    assert.ok(
      sts.every((s) => !String(s.status?.text).includes('tplink-pool.')),
      JSON.stringify(sts.map((s) => s.status)),
    );
    assert.ok(
      sts.some((s) => ['on', 'off', 'online'].includes(String(s.status?.text))),
      JSON.stringify(sts.map((s) => s.status)),
    );

    // Nothing observable holds the password.
    const everything = JSON.stringify(collector.got) + r.log();
    assert.ok(!everything.includes(CREDS.password), 'the password appeared in a message or the log');
    assert.ok(r.running());
  });

  it("serves the TP-Link sidebar from the pool's own sessions: read for readers, toggle for writers", async () => {
    const r = red!;
    const get = async () =>
      (await r.request('GET', '/tplink-pool/sidebar?refresh=1')).json as {
        pools: { id: string; devices: { key: string; alias: string; on?: boolean; model?: string; protocol?: string; status: string }[] }[];
      };
    let board = (await get()).pools.find((p) => p.id === 'e2e-pool');
    assert.ok(board, 'the deployed pool is on the sidebar');
    assert.deepEqual(
      board.devices.map((d) => d.alias),
      ['Fridge', 'Dishwasher', 'Coffee Maker'],
    );
    for (const d of board.devices) assert.ok(d.model && d.protocol && typeof d.on === 'boolean', JSON.stringify(d));
    // A second look within 10 s reads no device again (one refresh for every editor).
    const before = devices.slice(0, 3).map((d) => d.log.count());
    board = (await get()).pools.find((p) => p.id === 'e2e-pool')!;
    assert.deepEqual(
      devices.slice(0, 3).map((d) => d.log.count()),
      before,
    );
    const dish = board.devices.find((d) => d.alias === 'Dishwasher')!;
    const toggled = await r.request('POST', '/tplink-pool/sidebar/toggle', { pool: 'e2e-pool', key: dish.key });
    assert.equal(toggled.json.ok, true, toggled.text);
    assert.equal(toggled.json.device.on, !dish.on);
    const tested = await r.request('POST', '/tplink-pool/sidebar/test', { pool: 'e2e-pool', key: dish.key });
    assert.equal(tested.json.ok, true, tested.text);
    assert.ok(!JSON.stringify(board).includes(CREDS.password) && !toggled.text.includes(CREDS.password));
    await r.login(READER.username, READER.password, 'read');
    try {
      assert.equal((await r.request('GET', '/tplink-pool/sidebar')).status, 200, 'a reader sees the sidebar');
      assert.equal((await r.request('POST', '/tplink-pool/sidebar/toggle', { pool: 'e2e-pool', key: dish.key })).status, 401, 'a reader may not switch');
    } finally {
      await r.login(ADMIN.username, ADMIN.password);
    }
  });

  it('deploys every shipped example as imported (its own pool, no credentials): no ENOPOOL', async () => {
    const r = red!;
    const dir = path.join(userDir, 'node_modules', 'node-red-contrib-kasa-tapo', 'examples');
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.ok(files.length >= 9, `${files.length} examples shipped`);
    const flows: Record<string, unknown>[] = [];
    const ids = new Set<string>();
    for (const [i, f] of files.entries()) {
      const z = `ex-tab-${i}`;
      flows.push({ id: z, type: 'tab', label: f, disabled: false, info: '' });
      for (const n of JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>[]) {
        // The pool has the same id in every example: imported once, shared (what "Import copy" does).
        if (ids.has(n.id as string)) continue;
        ids.add(n.id as string);
        assert.equal(n.credentials, undefined, `${f} carries credentials`);
        flows.push(n.type === 'tplink-pool' ? n : { ...n, z });
      }
    }
    await r.deploy(flows);
    const pools = flows.filter((n) => n.type === 'tplink-pool');
    assert.equal(pools.length, 1);
    // The examples' start-up injects fire within 3 s. Wherever their devices are (npm start's home,
    // or nowhere: then connection errors), the nodes have their pool: no ENOPOOL, no "no pool".
    const t0 = Date.now();
    const worked = () => (r.log().match(/\[error\] \[tplink-|\[(info|warn)\].*tplink/g) ?? []).length;
    while (worked() < 3 && Date.now() - t0 < 30_000) await new Promise((res) => setTimeout(res, 200));
    assert.ok(!/no pool|ENOPOOL/.test(r.log()), r.log().slice(-2000));
  });
});
