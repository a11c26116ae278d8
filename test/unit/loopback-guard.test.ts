// The test-wide loopback guard (test/helpers/loopback-guard.ts) refuses non-loopback targets.
import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';

describe('loopback guard', () => {
  it('refuses datagrams and connections to non-loopback addresses before anything is sent', () => {
    const sock = dgram.createSocket('udp4');
    try {
      assert.throws(() => sock.send(Buffer.from('x'), 9, '255.255.255.255'), /loopback guard/);
      assert.throws(() => sock.send(Buffer.from('x'), 0, 1, 9, '10.1.2.3'), /loopback guard/);
    } finally {
      sock.close();
    }
    assert.throws(() => net.connect({ host: '192.0.2.1', port: 9 }), /loopback guard/);
    assert.throws(() => net.connect(9, '198.51.100.1'), /loopback guard/);
  });

  it('also guards HTTP requests, whose options carry the URL path', async () => {
    const req = (host: string): Promise<unknown> =>
      new Promise((resolve) => {
        try {
          const r = http.request({ host, port: 9, path: '/', method: 'GET' }, () => resolve('answered'));
          r.on('error', (e) => resolve(e));
          r.end();
        } catch (e) {
          resolve(e);
        }
      });
    assert.match(String(await req('example.test')), /loopback guard/);
    assert.match(String(await req('192.0.2.1')), /loopback guard/);
  });
});
