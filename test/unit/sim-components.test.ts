/**
 * Every component a simulated SMART device advertises answers: for each profile, the
 * device itself and each kind of child, every component of its component_nego list must be known to
 * COMPONENT_GETTERS, and each of its getters must answer error_code 0 (children through the
 * parent's control_child, as clients ask). A profile that starts advertising a component without
 * an answer fails here. Also: `"params": null` is accepted like real devices accept it.
 */
import { strict as assert } from 'node:assert';
import { COMPONENT_GETTERS } from '../../src/simulator/components';
import { getProfile, listProfiles } from '../../src/simulator/profiles';
import { SmartDeviceModel } from '../../src/simulator/smart';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ask = (m: SmartDeviceModel, req: unknown): J => JSON.parse(m.handle(JSON.stringify(req))) as J;

/** Parameters a getter needs (the rest are asked without params). */
function paramsFor(method: string): Record<string, unknown> | undefined {
  const now = Math.floor(Date.now() / 1000);
  if (method === 'get_energy_data') return { start_timestamp: now - 86400, end_timestamp: now, interval: 60 };
  if (method === 'get_power_data') return { start_timestamp: now - 3600, end_timestamp: now, interval: 5 };
  if (method === 'get_trigger_logs') return { page_size: 5, start_id: 0 };
  if (method.endsWith('_list') || method === 'get_schedule_rules' || method === 'get_dynamic_light_effect_rules') return { start_index: 0 };
  return undefined;
}

const smartIds = listProfiles().filter((id) => {
  const p = getProfile(id);
  return !!p.smart && p.transport !== 'https';
});

describe('simulator: every advertised SMART component answers', () => {
  it('covers the SMART profiles', () => assert.ok(smartIds.length >= 8, smartIds.join()));

  for (const id of smartIds) {
    describe(id, () => {
      const m = new SmartDeviceModel(getProfile(id));
      const targets: { label: string; comps: { id: string }[]; call: (req: J) => J }[] = [
        { label: 'device', comps: ask(m, { method: 'component_nego' }).result.component_list, call: (req) => ask(m, req) },
      ];
      const seenKinds = new Set<string>();
      for (const c of m.children) {
        if (seenKinds.has(c.kind)) continue;
        seenKinds.add(c.kind);
        const viaParent = (req: J): J => {
          const outer = ask(m, { method: 'control_child', params: { device_id: c.deviceId, requestData: req } });
          assert.equal(outer.error_code, 0, JSON.stringify(outer));
          return outer.result.responseData as J;
        };
        targets.push({ label: `${c.child?.model ?? c.kind} child`, comps: viaParent({ method: 'component_nego' }).result.component_list, call: viaParent });
      }
      for (const t of targets) {
        for (const comp of t.comps) {
          it(`${t.label}: ${comp.id}`, () => {
            const getters = COMPONENT_GETTERS[comp.id];
            assert.ok(getters, `component "${comp.id}" is advertised but COMPONENT_GETTERS does not know it`);
            for (const method of getters) {
              const params = paramsFor(method);
              const r = t.call(params ? { method, params } : { method });
              assert.equal(r.error_code, 0, `${method} → ${JSON.stringify(r)}`);
            }
          });
        }
      }
    });
  }
});

describe('simulator: answers shaped like the devices', () => {
  it('power protection, emeter, matter, alarm, child quick setup and light effects', () => {
    const p110 = new SmartDeviceModel(getProfile('p110'));
    assert.deepEqual(ask(p110, { method: 'get_protection_power' }).result, { enabled: false, protection_power: 0 });
    assert.ok(Number.isInteger(ask(p110, { method: 'get_max_power' }).result.max_power));
    const e = ask(p110, { method: 'get_emeter_data' }).result;
    for (const k of ['power_mw', 'voltage_mv', 'current_ma', 'energy_wh']) assert.ok(Number.isInteger(e[k]), k);
    const g = ask(p110, { method: 'get_emeter_vgain_igain' }).result;
    assert.ok(Number.isInteger(g.vgain) && Number.isInteger(g.igain));
    const kp = new SmartDeviceModel(getProfile('kp125m'));
    const mt = ask(kp, { method: 'get_matter_setup_info' }).result;
    assert.match(mt.setup_code, /^\d{11}$/);
    assert.equal(typeof mt.setup_payload, 'string');
    const hub = new SmartDeviceModel(getProfile('h100'));
    const al = ask(hub, { method: 'get_alarm_configure' }).result;
    assert.deepEqual(Object.keys(al).sort(), ['duration', 'type', 'volume']);
    assert.ok(Array.isArray(ask(hub, { method: 'get_support_child_device_category' }).result.device_category_list));
    const bulb = new SmartDeviceModel(getProfile('l530'));
    const fx = ask(bulb, { method: 'get_dynamic_light_effect_rules', params: { start_index: 0 } }).result;
    assert.equal(fx.sum, fx.rule_list.length);
    assert.ok(fx.rule_list.every((r: J) => Array.isArray(r.color_status_list)));
  });
});

describe('simulator: "params": null (plugp100 sends it)', () => {
  it('is accepted for getters, multipleRequest sub-requests and control_child requests', () => {
    const m = new SmartDeviceModel(getProfile('p110'));
    assert.equal(ask(m, { method: 'get_device_info', params: null }).error_code, 0);
    assert.equal(ask(m, { method: 'get_countdown_rules', params: null }).error_code, 0);
    const batch = ask(m, {
      method: 'multipleRequest',
      params: {
        requests: [
          { method: 'get_device_info', params: null },
          { method: 'get_energy_usage', params: null },
        ],
      },
    });
    assert.deepEqual(
      batch.result.responses.map((r: J) => r.error_code),
      [0, 0],
    );
    const strip = new SmartDeviceModel(getProfile('p304m'));
    const child = strip.children[0]!;
    const r = ask(strip, { method: 'control_child', params: { device_id: child.deviceId, requestData: { method: 'get_device_info', params: null } } });
    assert.equal(r.result.responseData.error_code, 0);
  });
  it('still refuses params that are not an object (-1008) and a multipleRequest without requests', () => {
    const m = new SmartDeviceModel(getProfile('p110'));
    assert.equal(ask(m, { method: 'get_device_info', params: 'x' }).error_code, -1008);
    assert.equal(ask(m, { method: 'get_device_info', params: [1] }).error_code, -1008);
    assert.equal(ask(m, { method: 'multipleRequest', params: null }).error_code, -1008);
    assert.equal(ask(m, { method: 'set_device_info', params: null }).error_code, 0); // nothing to change
  });
});
