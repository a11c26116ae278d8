/**
 * The SSL-AES client against a fake camera over HTTPS on loopback: the login (SHA-256 and MD5
 * devices, the username fallback to "admin", the default password of an unbound device), signed
 * requests, a session the device ends (one new login), a wrong password (one login, EAUTH, no
 * digest sent), a device that cannot prove the password, and a blocked device (ELOCKED).
 */
import { strict as assert } from 'node:assert';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { KasaTapoError } from '../../src/errors';
import { SSLAES_LV3_DEFAULT_PASSWORD, SslAesClient } from '../../src/transports/sslaes';
import { startFakeCamera, type FakeCamera } from '../helpers/fake-camera';
import { failure } from '../helpers/failure';

const PRIVACY_ON = {
  method: 'multipleRequest',
  params: { requests: [{ method: 'setLensMaskConfig', params: { lens_mask: { lens_mask_info: { enabled: 'on' } } } }] },
};
const answer = () => ({ error_code: 0, result: { responses: [{ method: 'setLensMaskConfig', result: {}, error_code: 0 }] } });

describe('SSL-AES client (cameras, doorbells, H200) against a fake camera', function () {
  this.timeout(30000);
  const open: { cam?: FakeCamera; client?: SslAesClient }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      o.client?.close();
      await o.cam?.close();
    }
  });
  const setup = async (cam: Parameters<typeof startFakeCamera>[0], client: Omit<ConstructorParameters<typeof SslAesClient>[0], 'host' | 'port'>) => {
    const c = await startFakeCamera({ answer, ...cam });
    const cl = new SslAesClient({ host: c.host, port: c.port, timeoutMs: 3000, ...client });
    open.push({ cam: c, client: cl });
    return { cam: c, client: cl };
  };

  it('logs in (SHA-256), sends signed requests in order and reads the answers', async () => {
    const { cam, client } = await setup(
      { username: 'cam@example.com', password: 'great_password' },
      { credentials: { username: 'cam@example.com', password: 'great_password' } },
    );
    for (let i = 0; i < 3; i++) assert.deepEqual(await client.request(PRIVACY_ON), answer());
    assert.deepEqual(cam.stats, { hellos: 1, logins: 1, requests: 3, badTags: 0 });
    assert.deepEqual(cam.requests[0], PRIVACY_ON);
  });

  it('a device that stores MD5; the username falls back to "admin"', async () => {
    const { cam, client } = await setup(
      { password: 'great_password', hash: 'md5' },
      { credentials: { username: 'me@example.com', password: 'great_password' } },
    );
    assert.deepEqual(await client.request(PRIVACY_ON), answer());
    assert.equal(cam.stats.hellos, 1, 'the first hello (as me@example.com) was refused; admin got the nonce');
    assert.equal(cam.stats.logins, 1);
  });

  it('an unbound login-version-3 device: its default password, no account needed', async () => {
    const { cam, client } = await setup({ password: SSLAES_LV3_DEFAULT_PASSWORD }, { loginVersion: 3 });
    assert.deepEqual(await client.request(PRIVACY_ON), answer());
    assert.equal(cam.stats.logins, 1);
  });

  it('a session the device ended: one new login, the request answered', async () => {
    const { cam, client } = await setup({ password: 'pw' }, { credentials: { username: 'admin', password: 'pw' } });
    await client.request(PRIVACY_ON);
    cam.endNextSession();
    assert.deepEqual(await client.request(PRIVACY_ON), answer());
    assert.equal(cam.stats.logins, 2);
  });

  it('a wrong password: EAUTH after one handshake1, and no digest is sent', async () => {
    const { cam, client } = await setup({ password: 'right' }, { credentials: { username: 'admin', password: 'wrong' } });
    const e = await failure(client.request(PRIVACY_ON));
    assert.equal(e.code, 'EAUTH');
    assert.equal(e.spentLogin, true);
    assert.match(e.message, /could not prove/);
    assert.equal(cam.stats.hellos, 1);
    assert.equal(cam.stats.logins, 0);
    assert.equal(client.logins, 1);
  });

  it('a blocked device: ELOCKED with the time it gave, nothing more sent', async () => {
    const { client } = await setup({ password: 'pw', blockedFor: 120 }, { credentials: { username: 'admin', password: 'pw' } });
    const e = await failure(client.request(PRIVACY_ON));
    assert.equal(e.code, 'ELOCKED');
    assert.ok(e.until !== undefined && e.until > Date.now() + 100_000);
  });

  it('a TLS server without a certificate: a typed error, never a crash', async () => {
    const server = https.createServer({}, (_q, s) => s.writeHead(404).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const client = new SslAesClient({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, timeoutMs: 2000 });
    try {
      const e = await client.request(PRIVACY_ON).catch((x: unknown) => x);
      assert.ok(e instanceof KasaTapoError, String(e));
    } finally {
      client.close();
      server.close();
    }
  });
});
