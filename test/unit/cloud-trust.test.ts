// The cloud client's transport rules: plain HTTP only to loopback unless `insecure` (the password
// would travel in clear), refused before any connection or name lookup; and `timeoutMs` as a
// deadline for the whole request, so a server that trickles its answer cannot hold the caller.
// Servers are on 127.0.0.1, port 0; CLI runs are their own processes with the loopback guard.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { cloudLogin, isLoopbackHostname } from '../../src/cloud';
import { isKasaTapoError } from '../../src/errors';

const CREDS = { username: 'trust@example.com', password: 'trust-secret-pw' };
const CLI = path.join(__dirname, '../../src/cli.js');
const GUARD = path.join(__dirname, '../helpers/loopback-guard.js');
/** Stops every connection of the CLI process, before any name lookup. */
const NO_CONNECT = path.join(__dirname, '../helpers/no-connect.js');

function run(args: string[], env: Record<string, string> = {}, preload = GUARD): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--require', preload, CLI, ...args],
      { timeout: 15000, env: { ...process.env, KASA_TAPO_USERNAME: CREDS.username, KASA_TAPO_PASSWORD: CREDS.password, KASA_TAPO_CLOUD_URL: '', ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 99) : 0, stdout, stderr }),
    );
  });
}

/** Run `f` with every TCP connect recorded and stopped (no connection, no name lookup). */
async function noConnect<T>(f: () => Promise<T>): Promise<{ hosts: unknown[]; result: PromiseSettledResult<T> }> {
  const orig = net.Socket.prototype.connect;
  const hosts: unknown[] = [];
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    hosts.push(first && typeof first === 'object' ? (first as { host?: unknown }).host : args[1]);
    throw new Error('test: connections are stopped here');
  };
  try {
    const [result] = await Promise.allSettled([f()]);
    return { hosts, result: result };
  } finally {
    net.Socket.prototype.connect = orig;
  }
}

describe('cloud: plain HTTP only to loopback, and a deadline per request', function () {
  this.timeout(30000);

  it('isLoopbackHostname: 127.0.0.0/8, [::1] and localhost as URL normalises them', () => {
    for (const u of ['http://127.0.0.1:9', 'http://127.8.9.10/', 'http://[::1]:80', 'http://LOCALHOST', 'http://2130706433/', 'http://127.1/'])
      assert.ok(isLoopbackHostname(new URL(u).hostname), u);
    for (const u of [
      'http://example.test',
      'http://10.0.0.1',
      'http://127.0.0.1.example.test',
      'http://[fe80::1]',
      'http://localhost.example.test',
      'http://0.0.0.0',
    ])
      assert.ok(!isLoopbackHostname(new URL(u).hostname), u);
  });

  it('a plain-HTTP cloud URL off loopback is EBADINPUT before any connection', async () => {
    for (const baseUrl of ['http://example.test', 'http://10.0.0.1:8080/api', 'http://127.0.0.1.example.test', 'http://[fe80::1]']) {
      const { hosts, result } = await noConnect(() => cloudLogin({ ...CREDS, baseUrl }));
      assert.deepEqual(hosts, [], baseUrl);
      assert.equal(result.status, 'rejected');
      const e = result.reason as unknown;
      assert.ok(isKasaTapoError(e) && e.code === 'EBADINPUT', `${baseUrl}: ${String(e)}`);
      assert.match(e.message, /plain HTTP: the account's password would travel in clear/);
      assert.ok(!e.message.includes(CREDS.password));
    }
    // Loopback, HTTPS and `insecure` go ahead (and are stopped here at the connect).
    for (const [baseUrl, insecure] of [
      ['http://127.0.0.1:9', false],
      ['http://[::1]:9', false],
      ['http://localhost:9', false],
      ['https://example.test', false],
      ['http://example.test', true],
    ] as const) {
      const { hosts } = await noConnect(() => cloudLogin({ ...CREDS, baseUrl, insecure }));
      assert.equal(hosts.length, 1, `${baseUrl} insecure ${insecure}`);
    }
  });

  it('kasa-tapo cloud: --cloud-url or KASA_TAPO_CLOUD_URL http://example.test refused; --insecure warns', async () => {
    for (const [args, env] of [
      [['cloud', 'devices', '--cloud-url', 'http://example.test'], {}],
      [['cloud', 'devices'], { KASA_TAPO_CLOUD_URL: 'http://example.test' }],
    ] as const) {
      const r = await run([...args], env, NO_CONNECT);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^kasa-tapo: EBADINPUT: The cloud URL http:\/\/example\.test is plain HTTP/);
      assert.doesNotMatch(r.stderr, /no-connect/); // nothing tried to connect
      assert.ok(!r.stderr.includes(CREDS.password));
    }
    // With --insecure it warns, then connects (no-connect stops it before any lookup).
    const r = await run(['cloud', 'devices', '--cloud-url', 'http://example.test', '--insecure'], {}, NO_CONNECT);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /warning: --insecure: the TP-Link account's password goes to example\.test over plain HTTP/);
    assert.match(r.stderr, /no-connect: a connection to example\.test was stopped/);
    assert.ok(!r.stderr.includes(CREDS.password));
  });

  it('a server that trickles its answer ends at the timeout with ETIMEDOUT (library and CLI)', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
      let n = 0;
      // One byte every 100 ms, at most 60 of them (6 s): never idle for 300 ms, never done.
      const t = setInterval(() => {
        if (++n > 60 || res.destroyed) {
          clearInterval(t);
          timers.delete(t);
          res.destroy();
          return;
        }
        res.write(' ');
      }, 100);
      timers.add(t);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await assert.rejects(cloudLogin({ ...CREDS, baseUrl: url, timeoutMs: 300 }), (e: unknown) => {
        assert.ok(isKasaTapoError(e) && e.code === 'ETIMEDOUT', String(e));
        assert.match(e.message, /did not answer in 300 ms/);
        return true;
      });
      const r = await run(['cloud', 'devices', '--cloud-url', url, '--timeout', '300']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^kasa-tapo: ETIMEDOUT: /);
    } finally {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it('a timeout that is not a positive number is EBADINPUT', async () => {
    for (const timeoutMs of [0, -1, NaN, Infinity])
      await assert.rejects(cloudLogin({ ...CREDS, baseUrl: 'http://127.0.0.1:9', timeoutMs }), (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT');
  });
});
