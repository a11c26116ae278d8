// Terminal escapes in device-, cloud- and capture-controlled strings: the CLI prints them as
// visible escapes, in text and in --json (where JSON.stringify leaves DEL and C1 raw). Each CLI
// run is its own process with the loopback guard loaded; devices and the cloud are fakes on
// 127.0.0.1, port 0.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { terminalJson, terminalText } from '../../src/cli-toolkit';
import { xorEncrypt } from '../../src/crypto/xor';
import { getProfile, startSimulatedDevice } from '../../src/simulator';
import { PcapWriter } from '../helpers/pcap';

const CLI = path.join(__dirname, '../../src/cli.js');
const GUARD = path.join(__dirname, '../helpers/loopback-guard.js');
/** Retitles the window, clears the screen (7-bit and 8-bit CSI), rings the bell, overrides the text direction. */
const EVIL = '\u001b]0;evil\u0007 \u001b[2J \u009b2J \u007f \u202e';
/** Any control character but the line ends the CLI writes itself. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', GUARD, CLI, ...args],
      { timeout: 15000, env: { ...process.env, KASA_TAPO_USERNAME: 'esc@example.com', KASA_TAPO_PASSWORD: 'esc-pw', KASA_TAPO_CLOUD_URL: '', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 99) : 0, stdout, stderr }),
    );
  });
}

function assertClean(what: string, text: string): void {
  const hit = RAW.exec(text);
  assert.equal(hit, null, `${what} printed U+${hit?.[0].charCodeAt(0).toString(16).padStart(4, '0')} raw: ${JSON.stringify(text)}`);
}

describe('CLI: control characters from devices, the cloud and captures are printed escaped', function () {
  this.timeout(30000);

  it('terminalText and terminalJson', () => {
    assert.equal(terminalText('a\u001b]0;evil\u0007b'), 'a\\u001b]0;evil\\u0007b');
    assert.equal(terminalText('\u009b2J\u007f\n'), '\\u009b2J\\u007f\\n');
    assert.equal(terminalText('plain – text…'), 'plain – text…');
    const json = terminalJson(JSON.stringify({ alias: EVIL, n: 1 }));
    assertClean('terminalJson', json);
    assert.deepEqual(JSON.parse(json), { alias: EVIL, n: 1 });
  });

  it('a device alias: info in text and --json, and --verbose traffic', async () => {
    const dev = await startSimulatedDevice({ ...getProfile('hs100'), alias: EVIL }, { credentials: { username: 'esc@example.com', password: 'esc-pw' } });
    try {
      const base = ['--host', dev.host, '--port', String(dev.port), '--transport', 'xor'];
      const text = await run([...base, 'info', '--verbose']);
      assert.equal(text.code, 0, text.stderr);
      assertClean('info', text.stdout);
      assertClean('--verbose', text.stderr);
      assert.match(text.stdout, /\\u001b\]0;evil\\u0007 \\u001b\[2J \\u009b2J/);
      for (const args of [
        [...base, 'info', '--json'],
        [...base, 'raw', '{"system":{"get_sysinfo":{}}}'],
      ]) {
        const j = await run(args);
        assert.equal(j.code, 0, j.stderr);
        assertClean(args.join(' '), j.stdout);
        const v = JSON.parse(j.stdout) as { alias?: string; system?: { get_sysinfo: { alias: string } } };
        assert.equal(v.alias ?? v.system?.get_sysinfo.alias, EVIL);
      }
    } finally {
      await dev.close();
    }
  });

  it('cloud devices and passthrough answers', async () => {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const m = (JSON.parse(Buffer.concat(chunks).toString()) as { method: string }).method;
        const result =
          m === 'login'
            ? { token: 'tok' }
            : m === 'getDeviceList'
              ? { deviceList: [{ deviceId: 'D1', alias: EVIL, deviceModel: EVIL, deviceType: EVIL, status: 1, appServerUrl: url }] }
              : { responseData: JSON.stringify({ system: { get_sysinfo: { alias: EVIL } } }) };
        res.end(JSON.stringify({ error_code: 0, result }));
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const args of [
        ['cloud', 'devices'],
        ['cloud', 'devices', '--json'],
        ['cloud', '--device', 'D1', 'info'],
      ]) {
        const r = await run([...args, '--cloud-url', url]);
        assert.equal(r.code, 0, r.stderr);
        assertClean(args.join(' '), r.stdout);
        assert.match(r.stdout, /\\u001b\]0;evil/);
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it('decoded capture text, in text and --json', async () => {
    const w = new PcapWriter();
    w.udp('127.0.0.1', 40000, '127.0.0.9', 9999, xorEncrypt('{"system":{"get_sysinfo":{}}}'));
    w.udp('127.0.0.9', 9999, '127.0.0.1', 40000, xorEncrypt(`{"alias":"${EVIL}"}`)); // raw, as a device may send it
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kasa-escape-'));
    const file = path.join(dir, 'evil.pcap');
    fs.writeFileSync(file, w.toBuffer());
    try {
      const text = await run(['decode', file]);
      assert.equal(text.code, 0, text.stderr);
      assertClean('decode', text.stdout);
      assert.match(text.stdout, /xor-udp {2}response {2}\{"alias":"\\u001b\]0;evil/);
      const json = await run(['decode', file, '--json']);
      assert.equal(json.code, 0, json.stderr);
      assertClean('decode --json', json.stdout);
      const last = JSON.parse(json.stdout.trim().split('\n').pop()!) as { text: string };
      assert.equal(last.text, `{"alias":"${EVIL}"}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
