/**
 * Discovery probes UDP 20004 too (Tapo doorbells answer there with a camera-style answer), with the
 * same datagram as 20002; a device that answers on both ports is reported once.
 */
import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import { discover } from '../../src/discovery';
import { parseTdpPacket, tdpPacket } from '../../src/simulator/discovery';
import { randomBase } from '../helpers/net';

const bind = (address: string, port = 0): Promise<dgram.Socket> =>
  new Promise((resolve) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.bind({ address, port }, () => resolve(s));
  });

describe('discovery on UDP 20004 (doorbells)', () => {
  it('finds a device that answers only on the doorbell port, once even when it answers twice', async () => {
    const base = randomBase();
    const listener = await bind(`${base}.255`);
    const device = await bind(`${base}.30`);
    const quiet = await bind(`${base}.255`); // the 9999/20002 ports: nobody answers there
    let probes = 0;
    const result = {
      device_id: 'doorbell',
      device_type: 'SMART.TAPODOORBELL',
      device_model: 'D230(EU)',
      mac: 'AA-BB-CC-00-11-33',
      encrypt_info: { sym_schm: 'AES' },
      encrypt_type: ['3'],
      mgt_encrypt_schm: { is_support_https: true, http_port: 443 },
    };
    listener.on('message', (m, r) => {
      if (!parseTdpPacket(m)) return;
      probes++;
      const answer = tdpPacket(Buffer.from(JSON.stringify({ error_code: 0, result })), m.subarray(8, 12), { flags: 0 });
      device.send(answer, r.port, r.address);
      device.send(answer, r.port, r.address);
    });
    try {
      const quietPort = quiet.address().port;
      const found = await discover({
        broadcast: `${base}.255`,
        ports: { legacy: quietPort, tdp: quietPort, doorbell: listener.address().port },
        timeoutMs: 400,
        rounds: 1,
      });
      assert.ok(probes >= 1, 'the 20004 probe arrived');
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0]!.host, `${base}.30`);
      assert.equal(found[0]!.deviceType, 'SMART.TAPODOORBELL');
    } finally {
      for (const s of [listener, device, quiet]) s.close();
    }
  });
});
