/**
 * `npm start`, as a new user runs it: scripts/start.js starts the simulated home and Node-RED,
 * deploys the demo, and debug messages flow in the editor's sidebar (read here over the editor's
 * own /comms websocket). The requested port is taken, so it must move to the next one. Ctrl-C
 * (SIGINT to the PID we started) stops everything with exit code 0 and no stack trace.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort, repoRoot, tempDir } from '../helpers/nodered';

const WebSocket = require(require.resolve('ws', { paths: [path.dirname(require.resolve('node-red/package.json', { paths: [repoRoot()] }))] }));

describe('npm start: the local demo', function () {
  this.timeout(150_000);
  let child: ChildProcess | undefined;
  let blocker: net.Server | undefined;
  let userDir = '';

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL'); // the start script this test started, by its PID
      await new Promise((r) => child!.once('exit', r));
    }
    await new Promise((r) => (blocker ? blocker.close(r) : r(undefined)));
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('moves past a taken port, deploys the demo, shows debug output, and stops cleanly on Ctrl-C', async () => {
    const taken = await freePort();
    blocker = net.createServer().listen(taken, '127.0.0.1');
    await new Promise((r) => blocker!.once('listening', r));
    userDir = tempDir('start');
    const t0 = Date.now();
    child = spawn(process.execPath, [path.join(repoRoot(), 'scripts', 'start.js')], {
      env: { ...process.env, PORT: String(taken), KASA_TAPO_USER_DIR: userDir, KASA_TAPO_NO_BUILD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));

    const waitFor = async (re: RegExp, ms: number): Promise<RegExpMatchArray> => {
      for (const t = Date.now(); Date.now() - t < ms; await new Promise((r) => setTimeout(r, 100))) {
        const m = out.match(re);
        if (m) return m;
        if (child!.exitCode !== null) break;
      }
      throw new Error(`no ${re} in the output:\n${out}`);
    };
    const editor = await waitFor(/Node-RED editor: http:\/\/127\.0\.0\.1:(\d+)\//, 90_000);
    const port = Number(editor[1]);
    assert.notEqual(port, taken, 'it used the taken port');
    assert.ok(port > taken && port < taken + 10, `port ${port}`);
    assert.match(out, /Demo: deployed the demo flows/);
    for (const m of ['HS100', 'P110', 'P100', 'L530', 'H100', 'HS300', 'P304M', 'KL130']) assert.match(out, new RegExp(m), `${m} not listed`);

    // The editor's debug sidebar, as the browser gets it.
    const names = new Set<string>();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
    await new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ subscribe: 'debug' })));
      ws.on('message', (d: Buffer) => {
        for (const m of JSON.parse(d.toString()) as { topic: string; data: { name?: string } }[])
          if (m.topic === 'debug' && m.data.name) names.add(m.data.name);
        if (names.size >= 8 && names.has('room summary') && names.has('Kasa plug state')) resolve(undefined);
      });
      setTimeout(() => reject(new Error(`only ${[...names].join(', ')} within 45 s`)), 45_000).unref();
    });
    // An editor opened later: its first GET /flows presses the start-up injects again, so the
    // Debug sidebar it opens is not empty.
    const later = new Set<string>();
    ws.removeAllListeners('message');
    ws.on('message', (d: Buffer) => {
      for (const m of JSON.parse(d.toString()) as { topic: string; data: { name?: string } }[]) if (m.topic === 'debug' && m.data.name) later.add(m.data.name);
    });
    await new Promise((r) => setTimeout(r, 300));
    later.clear();
    const { httpRequest } = await import('../helpers/nodered');
    await httpRequest(`http://127.0.0.1:${port}/flows`, 'GET', undefined, { 'user-agent': 'Mozilla/5.0 (e2e)' });
    for (const t = Date.now(); !later.has('Kasa plug state') && Date.now() - t < 20_000;) await new Promise((r) => setTimeout(r, 100));
    assert.ok(later.has('Kasa plug state'), `after an editor's GET /flows only ${[...later].join(', ')}`);
    assert.match(fs.readFileSync(path.join(userDir, 'settings.js'), 'utf8'), /catalogues: \[\]/, 'the demo fetches the online palette catalogue');
    ws.close();
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(names.has('Kasa plug state') && names.has('room summary'), [...names].join(', '));
    console.log(`      debug output from ${names.size} debug nodes ${seconds.toFixed(1)} s after npm start`);

    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    assert.equal(code, 0, out.slice(-2000));
    assert.ok(!/\n\s+at \S+ \(/.test(out), `a stack trace was printed:\n${out}`);
  });
});
