/**
 * The SmartCam protocol over the SSL-AES client, against a fake camera: the exact multipleRequest
 * shape (docs/protocols.md, with the time and terminal id pinned), answers keyed by method, a
 * method's error code as EDEVICE, batches of five, and a paged child list.
 */
import { strict as assert } from 'node:assert';
import { SmartCamProtocol, smartCamBatch, type SmartCamCarrier } from '../../src/protocols/smartcam';
import { SslAesClient } from '../../src/transports/sslaes';
import { startFakeCamera } from '../helpers/fake-camera';
import { failure } from '../helpers/failure';

const PRIVACY_ON = { method: 'setLensMaskConfig', params: { lens_mask: { lens_mask_info: { enabled: 'on' } } } };

describe('SmartCam protocol', function () {
  this.timeout(30000);

  it('builds the batch exactly as the app does (privacy on)', () => {
    assert.equal(
      JSON.stringify(smartCamBatch([PRIVACY_ON], 1700000000000, 'TU')),
      '{"method":"multipleRequest","request_time_milis":1700000000000,"terminal_uuid":"TU","params":{"requests":[{"method":"setLensMaskConfig","params":{"lens_mask":{"lens_mask_info":{"enabled":"on"}}}}]}}',
    );
  });

  it('over SSL-AES: answers by method, EDEVICE with the code, batches of five', async () => {
    const cam = await startFakeCamera({
      password: 'pw',
      answer: (req) => {
        const requests = ((req.params as { requests: { method: string }[] }).requests ?? []).map((r) => r.method);
        return {
          error_code: 0,
          result: {
            responses: requests.map((method) =>
              method === 'getLedStatus'
                ? { method, result: { led: { config: { enabled: 'on' } } }, error_code: 0 }
                : method === 'setBroken'
                  ? { method, result: {}, error_code: -40106 }
                  : { method, result: {}, error_code: 0 },
            ),
          },
        };
      },
    });
    const client = new SslAesClient({ host: cam.host, port: cam.port, credentials: { username: 'admin', password: 'pw' }, timeoutMs: 3000 });
    try {
      const proto = new SmartCamProtocol(client, () => 1700000000000);
      const r = await proto.query([{ method: 'getLedStatus', params: { led: { name: 'config' } } }, PRIVACY_ON]);
      assert.deepEqual(r.getLedStatus, { led: { config: { enabled: 'on' } } });
      assert.deepEqual(r.setLensMaskConfig, {});
      const e = await failure(proto.query([{ method: 'setBroken' }]));
      assert.equal(e.code, 'EDEVICE');
      assert.equal(e.deviceCode, -40106);
      const seven = Array.from({ length: 7 }, (_, i) => ({ method: `getThing${i}` }));
      assert.equal(Object.keys(await proto.query(seven)).length, 7);
      const batches = cam.requests.map((q) => (q.params as { requests: unknown[] }).requests.length);
      assert.deepEqual(batches.slice(-2), [5, 2]);
      assert.equal(cam.requests[0]!.request_time_milis, 1700000000000);
      assert.equal(typeof cam.requests[0]!.terminal_uuid, 'string');
    } finally {
      client.close();
      await cam.close();
    }
  });

  it('reads a paged list until sum, and stops on a device whose sum lies', async () => {
    const asked: number[] = [];
    const fake = (sum: number): SmartCamCarrier => ({
      host: '127.0.0.1',
      request: async (body) => {
        const q = (body.params as { requests: { params: { childControl: { start_index: number } } }[] }).requests[0]!;
        const from = q.params.childControl.start_index;
        asked.push(from);
        const items = from < 7 ? Array.from({ length: Math.min(3, 7 - from) }, (_, i) => ({ device_id: `C${from + i}` })) : [];
        return {
          error_code: 0,
          result: { responses: [{ method: 'getChildDeviceList', error_code: 0, result: { child_device_list: items, start_index: from, sum } }] },
        };
      },
    });
    const list = await new SmartCamProtocol(fake(7)).list('getChildDeviceList', 'childControl', 'child_device_list');
    assert.equal(list.length, 7);
    assert.deepEqual(asked, [0, 3, 6]);
    asked.length = 0;
    const lying = await new SmartCamProtocol(fake(1000)).list('getChildDeviceList', 'childControl', 'child_device_list');
    assert.equal(lying.length, 7);
    assert.deepEqual(asked, [0, 3, 6, 7], 'an empty page ends it');
  });
});
