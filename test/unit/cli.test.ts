// The kasa-tapo command line against `kasa-tapo simulate`, each as its own process, on loopback.
import { strict as assert } from 'node:assert';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { randomBase } from '../helpers/net';

const CLI = path.join(__dirname, '../../src/cli.js');
const env = { ...process.env, KASA_TAPO_USERNAME: 'cli@example.com', KASA_TAPO_PASSWORD: 'cli-secret-pw' };

function run(args: string[], timeoutMs = 15000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('kasa-tapo CLI against kasa-tapo simulate', function () {
  let sim: ChildProcess;
  let base: string;
  let listing = '';

  before(async function () {
    base = randomBase();
    sim = spawn(process.execPath, [CLI, 'simulate', '--base', base], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`simulator did not start: ${listing}`)), 15000);
      sim.stdout!.on('data', (d: Buffer) => {
        listing += d.toString();
        if (listing.includes('Ctrl-C')) {
          clearTimeout(t);
          resolve();
        }
      });
      sim.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${listing}`)));
    });
  });

  after(async () => {
    if (sim.exitCode !== null) return;
    const exited = new Promise((r) => sim.once('exit', r));
    sim.kill('SIGINT'); // only the process this test started, by its PID
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (sim.exitCode === null) sim.kill('SIGKILL');
  });

  it('simulate lists the devices of the home', () => {
    assert.match(listing, new RegExp(`${base.replace(/\./g, '\\.')}\\.1:9999`));
    assert.match(listing, /P110/);
  });

  it('discover --json finds them on 127.255.255.255', async () => {
    const r = await run(['discover', '--broadcast', '127.255.255.255', '--timeout', '1500', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const found = (JSON.parse(r.stdout) as { host: string; supported: boolean; transport?: string }[]).filter((d) => d.host.startsWith(base + '.'));
    assert.ok(found.length >= 12, `found ${found.length}`);
    assert.ok(found.some((d) => d.transport === 'xor') && found.some((d) => d.transport === 'klap') && found.some((d) => d.transport === 'aes'));
    assert.ok(found.some((d) => !d.supported));
  });

  it('--host … info --json reads a Kasa XOR plug and a Tapo AES plug', async () => {
    // The simulated P100 predates login v2: login v1 is the user's choice (aes-v1), never an answer's.
    for (const [line, transport, extra] of [
      [/(\S+):9999\s+HS100\(US\)/, 'xor', []],
      [/(\S+):80\s+P100/, 'aes', ['--transport', 'aes-v1']],
    ] as const) {
      const host = line.exec(listing)?.[1];
      assert.ok(host, `device in listing: ${listing}`);
      const r = await run(['--host', host, ...extra, 'info', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as { protocol: string; host: string; on?: boolean };
      assert.equal(s.protocol, transport);
      assert.equal(s.host, host);
    }
  });

  it('switches a device off and on, and --verbose shows decrypted traffic but no secret', async () => {
    const host = /(\S+):80\s+P110\(UK\)\s+klap /.exec(listing)?.[1];
    assert.ok(host);
    const off = await run(['--host', host, '--port', '80', '--transport', 'klap', 'off', '--json', '--verbose']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal((JSON.parse(off.stdout) as { on: boolean }).on, false);
    assert.match(off.stderr, /set_device_info/);
    assert.ok(!off.stderr.includes('cli-secret-pw') && !off.stdout.includes('cli-secret-pw'));
    const on = await run(['--host', host, 'on']);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /switched on/);
  });

  it('autoupdate reads and switches automatic firmware updates; a Kasa plug has none', async () => {
    const host = /(\S+):80\s+P110\(UK\)\s+klap /.exec(listing)?.[1];
    assert.ok(host);
    const off = await run(['--host', host, 'autoupdate', 'off', '--json']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal((JSON.parse(off.stdout) as { autoUpdate: boolean }).autoUpdate, false);
    const read = await run(['--host', host, 'autoupdate']);
    assert.equal(read.code, 0, read.stderr);
    assert.match(read.stdout, /automatic firmware updates off \(window 03:00 \+ up to 120 min\)/);
    assert.equal((await run(['--host', host, 'autoupdate', 'on'])).code, 0);
    const kasa = /(\S+):9999\s+HS110\(EU\)/.exec(listing)?.[1];
    assert.ok(kasa);
    const none = await run(['--host', kasa, 'autoupdate']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /EUNSUPPORTED: .*no automatic firmware update setting/);
  });

  it('sends presets and raw JSON', async () => {
    const host = /(\S+):9999\s+HS110\(EU\)/.exec(listing)?.[1];
    assert.ok(host);
    const e = await run(['--host', host, 'energy', '--json']);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(typeof (JSON.parse(e.stdout) as { powerW: number }).powerW, 'number');
    const t = await run(['--host', host, 'time']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /get_time/);
    const raw = await run(['--host', host, 'raw', '{"system":{"get_sysinfo":{}}}']);
    assert.equal(raw.code, 0, raw.stderr);
    assert.match(raw.stdout, /"model":"HS110\(EU\)"/);
  });

  it('fails with one clear line and a non-zero exit code', async () => {
    const bad = await run(['--host', '127.0.0.1', '--port', '1', '--transport', 'xor', 'info', '--timeout', '1000']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /^kasa-tapo: ECONNREFUSED: /);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    const usage = await run(['frobnicate']);
    assert.notEqual(usage.code, 0);
    assert.match(usage.stderr, /needs --host/);
  });
});
