/**
 * Simulated device models at handler level: JSON text in, JSON text out, state changes, error
 * codes, strip child ids, SMART batches, paging and control_child. No sockets.
 */
import { strict as assert } from 'node:assert';
import { IotDeviceModel } from '../../src/simulator/iot';
import { getProfile, listProfiles } from '../../src/simulator/profiles';
import { SmartDeviceModel } from '../../src/simulator/smart';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const iot = (id: string) => new IotDeviceModel(getProfile(id));
const smart = (id: string, opts = {}) => new SmartDeviceModel(getProfile(id), opts);
const ask = (m: { handle(t: string): string | Promise<string> }, req: unknown): J => JSON.parse(m.handle(JSON.stringify(req)) as string) as J;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

describe('simulator profiles', () => {
  it('has at least 12 distinct profiles covering every transport and family', () => {
    const ids = listProfiles();
    assert.ok(ids.length >= 12);
    const ps = ids.map(getProfile);
    for (const t of ['xor', 'klap-v1', 'klap', 'aes', 'https'])
      assert.ok(
        ps.some((p) => p.transport === t),
        t,
      );
    for (const f of ['plug', 'strip', 'dimmer', 'bulb', 'lightstrip', 'hub'])
      assert.ok(
        ps.some((p) => p.family === f),
        f,
      );
    assert.equal(new Set(ps.map((p) => p.deviceId)).size, ps.length);
    for (const p of ps) {
      assert.match(p.deviceId, /^[0-9A-F]{40}$/);
      assert.match(p.mac, /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
      assert.ok(p.transport === 'xor' ? !p.discovery : !!p.discovery, p.id);
    }
  });
  it('getProfile returns a copy and rejects unknown ids', () => {
    const a = getProfile('hs100');
    a.alias = 'changed';
    assert.notEqual(getProfile('hs100').alias, 'changed');
    assert.throws(() => getProfile('nope'), /Unknown simulator profile/);
    assert.throws(() => getProfile('__proto__'), /Unknown/);
  });
});

describe('IOT device model', () => {
  it('answers several modules per request, with module and member errors', () => {
    const r = ask(iot('hs100'), { system: { get_sysinfo: {}, bogus: {} }, emeter: { get_realtime: {} }, time: { get_time: null } });
    assert.equal(r.system.get_sysinfo.err_code, 0);
    assert.equal(r.system.get_sysinfo.model, 'HS100(US)');
    assert.equal(r.system.get_sysinfo.type, 'IOT.SMARTPLUGSWITCH');
    assert.deepEqual(r.system.bogus, { err_code: -2, err_msg: 'member not support' });
    assert.deepEqual(r.emeter, { err_code: -1, err_msg: 'module not support' });
    assert.equal(typeof r.time.get_time.year, 'number');
  });

  it('switches the relay, LED and alias; on_time counts only while on', () => {
    const m = iot('hs100');
    assert.equal(ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo.relay_state, 0);
    assert.equal(ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo.on_time, 0);
    const r = ask(m, { system: { set_relay_state: { state: 1 }, set_led_off: { off: 1 }, set_dev_alias: { alias: 'Küche' } } });
    assert.deepEqual(r.system, { set_relay_state: { err_code: 0 }, set_led_off: { err_code: 0 }, set_dev_alias: { err_code: 0 } });
    const s = ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo;
    assert.equal(s.relay_state, 1);
    assert.equal(s.led_off, 1);
    assert.equal(s.alias, 'Küche');
    assert.equal(ask(m, { system: { set_relay_state: { state: 'on' } } }).system.set_relay_state.err_code, -3);
    assert.equal(ask(m, { system: { reboot: { delay: 1 } } }).system.reboot.err_code, 0);
  });

  it('reports v1 float units (HS110 hw1) and v2 milli-units (KP115); power 0 when off', () => {
    const v1 = ask(iot('hs110v1'), { emeter: { get_realtime: {} } }).emeter.get_realtime;
    for (const k of ['current', 'voltage', 'power', 'total']) assert.equal(typeof v1[k], 'number', k);
    assert.ok(v1.power > 70 && v1.power < 100, String(v1.power));
    assert.ok(v1.voltage > 220 && v1.voltage < 240);
    assert.equal(v1.power_mw, undefined);
    const m = iot('kp115');
    const v2 = ask(m, { emeter: { get_realtime: {} } }).emeter.get_realtime;
    assert.ok(Number.isInteger(v2.power_mw) && v2.power_mw > 380_000 && v2.power_mw < 460_000);
    assert.ok(Number.isInteger(v2.voltage_mv) && Number.isInteger(v2.current_ma) && Number.isInteger(v2.total_wh));
    ask(m, { system: { set_relay_state: { state: 0 } } });
    const off = ask(m, { emeter: { get_realtime: {} } }).emeter.get_realtime;
    assert.equal(off.power_mw, 0);
    assert.equal(off.current_ma, 0);
  });

  it('generates day/month statistics and erases them', () => {
    const m = iot('kp115');
    const now = new Date();
    const y = now.getFullYear();
    const mo = now.getMonth() + 1;
    const days = ask(m, { emeter: { get_daystat: { year: y, month: mo } } }).emeter.get_daystat.day_list;
    assert.ok(days.length >= 1 && days.length <= now.getDate());
    assert.deepEqual(Object.keys(days[0]).sort(), ['day', 'energy_wh', 'month', 'year']);
    const months = ask(m, { emeter: { get_monthstat: { year: y } } }).emeter.get_monthstat.month_list;
    assert.equal(months.length, mo);
    assert.equal(ask(m, { emeter: { get_daystat: { year: y } } }).emeter.get_daystat.err_code, -3);
    const v1 = ask(iot('hs110v1'), { emeter: { get_monthstat: { year: y } } }).emeter.get_monthstat.month_list;
    assert.equal(typeof v1[0].energy, 'number');
    assert.equal(ask(m, { emeter: { erase_emeter_stat: {} } }).emeter.erase_emeter_stat.err_code, 0);
    const after = ask(m, { emeter: { get_monthstat: { year: y } } }).emeter.get_monthstat.month_list;
    assert.ok(after.length <= 1);
    assert.equal(ask(m, { emeter: { get_daystat: { year: y - 1, month: 1 } } }).emeter.get_daystat.day_list.length, 0);
  });

  it('addresses strip outlets with context.child_ids (full ids and 2-char slots)', () => {
    const m = iot('hs300');
    const id = m.profile.deviceId;
    const info = ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo;
    assert.equal(info.child_num, 6);
    assert.equal(info.children[2].id, `${id}02`);
    assert.equal(info.children[2].state, 0);
    assert.equal(info.relay_state, undefined);
    // context may come last; child-aware methods act on every listed outlet
    let r = ask(m, { system: { set_relay_state: { state: 1 } }, context: { child_ids: [`${id}02`, '04'] } });
    assert.equal(r.system.set_relay_state.err_code, 0);
    const kids = ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo.children;
    assert.deepEqual(
      kids.map((c: J) => c.state),
      [1, 1, 1, 1, 1, 1],
    );
    r = ask(m, { context: { child_ids: ['1'] }, system: { set_relay_state: { state: 0 }, set_dev_alias: { alias: 'Amp' } } });
    const k1 = ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo.children[1];
    assert.equal(k1.state, 0);
    assert.equal(k1.alias, 'Amp');
    assert.equal(k1.on_time, 0);
    // errors
    r = ask(m, { context: { child_ids: [`${id}09`] }, system: { set_relay_state: { state: 1 }, get_sysinfo: {} } });
    assert.deepEqual(r.system.set_relay_state, { err_code: -14, err_msg: 'entry not exist' });
    assert.equal(r.system.get_sysinfo.err_code, 0); // device-wide methods still run
    r = ask(m, { context: { child_ids: 'x' }, system: { set_relay_state: { state: 1 } } });
    assert.equal(r.system.set_relay_state.err_code, -3);
    r = ask(m, { context: { child_ids: [] }, system: { set_relay_state: { state: 1 } } });
    assert.equal(r.system.set_relay_state.err_code, 0);
    assert.equal(ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo.children[1].state, 0);
    // no context: the whole strip
    ask(m, { system: { set_relay_state: { state: 0 } } });
    assert.ok(ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo.children.every((c: J) => c.state === 0));
  });

  it('meters each HS300 outlet separately', () => {
    const m = iot('hs300');
    const e = (slot: string) => ask(m, { context: { child_ids: [slot] }, emeter: { get_realtime: {} } }).emeter.get_realtime;
    const tv = e('00');
    assert.equal(tv.slot_id, 0);
    assert.ok(tv.power_mw > 85_000 && tv.power_mw < 105_000);
    assert.equal(e('02').power_mw, 0); // console outlet is off
    assert.equal(e('05').slot_id, 5);
    const days = ask(m, { context: { child_ids: ['03'] }, emeter: { get_daystat: { year: new Date().getFullYear(), month: new Date().getMonth() + 1 } } });
    assert.equal(days.emeter.get_daystat.err_code, 0);
    assert.equal(
      ask(m, { smartlife: { x: {} }, 'smartlife.iot.smartpowerstrip.manage': { get_relationship: {} } })['smartlife.iot.smartpowerstrip.manage']
        .get_relationship.data.length,
      6,
    );
    assert.deepEqual(ask(iot('kp303'), { emeter: { get_realtime: {} } }).emeter, { err_code: -1, err_msg: 'module not support' });
  });

  it('dims a dimmer', () => {
    const m = iot('hs220');
    assert.equal(ask(m, { 'smartlife.iot.dimmer': { set_brightness: { brightness: 0 } } })['smartlife.iot.dimmer'].set_brightness.err_code, -3);
    ask(m, { 'smartlife.iot.dimmer': { set_dimmer_transition: { brightness: 33, duration: 500 } } });
    const s = ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo;
    assert.equal(s.brightness, 33);
    assert.equal(s.relay_state, 1);
  });

  it('drives a colour bulb through lightingservice, remembering the state when off', () => {
    const m = iot('kl130');
    const LS = 'smartlife.iot.smartbulb.lightingservice';
    let st = ask(m, { [LS]: { transition_light_state: { hue: 120, saturation: 90, brightness: 40, on_off: 1, transition_period: 0 } } })[LS]
      .transition_light_state;
    assert.deepEqual({ ...st }, { on_off: 1, mode: 'normal', hue: 120, saturation: 90, color_temp: 0, brightness: 40, err_code: 0 });
    st = ask(m, { [LS]: { transition_light_state: { on_off: 0 } } })[LS].transition_light_state;
    assert.equal(st.on_off, 0);
    assert.deepEqual(st.dft_on_state, { mode: 'normal', hue: 120, saturation: 90, color_temp: 0, brightness: 40 });
    const info = ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo;
    assert.equal(info.mic_type, 'IOT.SMARTBULB');
    assert.equal(info.light_state.on_off, 0);
    assert.equal(ask(m, { 'smartlife.iot.common.emeter': { get_realtime: {} } })['smartlife.iot.common.emeter'].get_realtime.power_mw, 0);
    assert.equal(ask(m, { [LS]: { transition_light_state: { hue: 400 } } })[LS].transition_light_state.err_code, -10000);
    assert.equal(ask(m, { [LS]: { transition_light_state: { color_temp: 1000 } } })[LS].transition_light_state.err_code, -10000);
    assert.equal(ask(m, { system: { set_relay_state: { state: 1 } } }).system.set_relay_state.err_code, -2);
    ask(m, { [LS]: { transition_light_state: { on_off: 1, color_temp: 4000 } } });
    assert.ok(ask(m, { 'smartlife.iot.common.emeter': { get_realtime: {} } })['smartlife.iot.common.emeter'].get_realtime.power_mw > 0);
    assert.equal(ask(m, { 'smartlife.iot.common.system': { set_dev_alias: { alias: 'Lamp' } } })['smartlife.iot.common.system'].set_dev_alias.err_code, 0);
    assert.equal(ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo.light_state.color_temp, 4000);
  });

  it('drives a light strip with set_light_state', () => {
    const m = iot('kl430');
    const LS = 'smartlife.iot.lightStrip';
    const r = ask(m, { [LS]: { set_light_state: { on_off: 1, hue: 10, saturation: 100, brightness: 100 } } });
    assert.equal(r[LS].set_light_state.on_off, 1);
    assert.equal(r[LS].set_light_state.length, 16);
    assert.equal(ask(m, { [LS]: { transition_light_state: {} } })[LS].transition_light_state.err_code, -2);
    const s = ask(m, { system: { get_sysinfo: {} } }).system.get_sysinfo;
    assert.equal(s.length, 16);
    assert.equal(s.light_state.hue, 10);
    assert.equal(typeof s.lighting_effect_state.enable, 'number');
  });

  it('answers the softScheck presets (time, schedule, countdown, antitheft, cloud, wlan scan)', () => {
    const r = ask(iot('hs110v1'), {
      schedule: { get_rules: {}, get_next_action: {} },
      count_down: { get_rules: {} },
      anti_theft: { get_rules: {} },
      cnCloud: { get_info: {} },
      netif: { get_scaninfo: { refresh: 1 } },
      time: { get_time: {}, get_timezone: {} },
    });
    assert.deepEqual(r.schedule.get_rules.rule_list, []);
    assert.deepEqual(r.count_down.get_rules.rule_list, []);
    assert.equal(r.anti_theft.get_rules.err_code, 0);
    assert.equal(r.cnCloud.get_info.binded, 1);
    assert.ok(r.netif.get_scaninfo.ap_list.length > 0);
    assert.equal(r.time.get_timezone.err_code, 0);
  });

  it('survives malformed requests and prototype keys', () => {
    const m = iot('hs100');
    assert.equal(JSON.parse(m.handle('{nope')).err_code, -1);
    assert.equal(JSON.parse(m.handle('[1]')).err_code, -1);
    const r = JSON.parse(m.handle('{"__proto__":{"polluted":1},"system":{"constructor":{}}}'));
    assert.equal(({} as J).polluted, undefined);
    assert.deepEqual(Object.keys(r.system), []);
  });
});

describe('SMART device model', () => {
  it('answers get_device_info with base64 nickname/ssid and applies set_device_info', () => {
    const m = smart('p110', { ip: '127.9.9.9' });
    let info = ask(m, { method: 'get_device_info', request_time_milis: 1, terminal_uuid: 'x' });
    assert.equal(info.error_code, 0);
    assert.equal(unb64(info.result.nickname), 'Dishwasher');
    assert.equal(unb64(info.result.ssid), 'SimHome');
    assert.equal(info.result.ip, '127.9.9.9');
    assert.equal(info.result.type, 'SMART.TAPOPLUG');
    assert.equal(info.result.model, 'P110');
    assert.match(info.result.mac, /^([0-9A-F]{2}-){5}[0-9A-F]{2}$/);
    const set = ask(m, { method: 'set_device_info', params: { device_on: false, nickname: b64('Spülmaschine') } });
    assert.deepEqual(set, { error_code: 0 });
    info = ask(m, { method: 'get_device_info' });
    assert.equal(info.result.device_on, false);
    assert.equal(info.result.on_time, 0);
    assert.equal(unb64(info.result.nickname), 'Spülmaschine');
  });

  it('rejects bad params (-1008), unknown methods (-1002) and undecodable requests (-1003)', () => {
    const m = smart('p110');
    assert.equal(ask(m, { method: 'set_device_info', params: { device_on: 'yes' } }).error_code, -1008);
    assert.equal(ask(m, { method: 'set_device_info', params: { brightness: 50 } }).error_code, -1008);
    assert.equal(ask(m, { method: 'set_device_info', params: { nickname: 'not base64!' } }).error_code, -1008);
    assert.equal(ask(m, { method: 'get_countdown_rules', params: 'all' }).error_code, -1008); // null is accepted
    assert.equal(ask(m, { method: 'get_nothing' }).error_code, -1002);
    assert.equal(ask(m, { params: {} }).error_code, -1003);
    assert.equal(JSON.parse(m.handle('{{')).error_code, -1003);
    assert.equal(ask(m, { method: 'get_lighting_effect' }).error_code, -1002); // a plug has no light effects (energy_monitoring:2 answers get_emeter_data)
    assert.equal(ask(smart('p100'), { method: 'get_energy_usage' }).error_code, -1002);
  });

  it('reports energy with the real units: mW and Wh in get_energy_usage, whole W in get_current_power', () => {
    const m = smart('p110');
    const u = ask(m, { method: 'get_energy_usage' }).result;
    const w = ask(m, { method: 'get_current_power' }).result.current_power;
    assert.ok(u.current_power > 1_700_000 && u.current_power < 1_900_000, String(u.current_power));
    assert.ok(Number.isInteger(w) && w >= 1700 && w <= 1900);
    assert.ok(u.month_energy >= u.today_energy && u.today_energy >= 0);
    assert.match(u.local_time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const usage = ask(m, { method: 'get_device_usage' }).result;
    assert.ok(usage.time_usage.past30 >= usage.time_usage.past7 && usage.power_usage.past7 >= usage.power_usage.today);
    ask(m, { method: 'set_device_info', params: { device_on: false } });
    assert.equal(ask(m, { method: 'get_current_power' }).result.current_power, 0);
    const k = ask(smart('kp125m'), { method: 'get_emeter_data' }).result;
    assert.ok(k.power_mw > 30_000 && k.voltage_mv > 115_000 && Number.isInteger(k.current_ma) && Number.isInteger(k.energy_wh));
  });

  it('answers get_energy_data for daily and monthly intervals', () => {
    const m = smart('kp125m');
    const y = new Date().getFullYear();
    const start = Math.floor(new Date(y, 0, 1).getTime() / 1000);
    const end = Math.floor(new Date(y, 11, 31).getTime() / 1000);
    const monthly = ask(m, { method: 'get_energy_data', params: { start_timestamp: start, end_timestamp: end, interval: 43200 } }).result;
    assert.equal(monthly.data.length, 12);
    assert.equal(monthly.interval, 43200);
    assert.ok(monthly.data[new Date().getMonth()] > 0);
    const daily = ask(m, { method: 'get_energy_data', params: { start_timestamp: start, end_timestamp: start + 9 * 86400, interval: 1440 } }).result;
    assert.equal(daily.data.length, 10);
    assert.equal(ask(m, { method: 'get_energy_data', params: { start_timestamp: start, end_timestamp: end, interval: 7 } }).error_code, -1008);
  });

  it('processes multipleRequest in order and stops after the first failure', () => {
    const m = smart('p110');
    const r = ask(m, {
      method: 'multipleRequest',
      params: { requests: [{ method: 'component_nego' }, { method: 'set_device_info', params: { device_on: 1 } }, { method: 'get_device_info' }] },
    });
    assert.equal(r.error_code, 0);
    const resp = r.result.responses as J[];
    assert.equal(resp.length, 2);
    assert.equal(resp[0]!.method, 'component_nego');
    assert.ok(resp[0]!.result.component_list.some((c: J) => c.id === 'energy_monitoring'));
    assert.deepEqual(resp[1], { method: 'set_device_info', error_code: -1008 });
    const six = Array.from({ length: 6 }, () => ({ method: 'get_device_info' }));
    assert.equal(ask(m, { method: 'multipleRequest', params: { requests: six } }).error_code, -1003);
    assert.equal(ask(m, { method: 'multipleRequest', params: { requests: six.slice(0, 5) } }).result.responses.length, 5);
    assert.equal(ask(m, { method: 'multipleRequest', params: {} }).error_code, -1008);
  });

  it('controls strip outlets through control_child, single and batched', () => {
    const m = smart('p304m');
    const list = ask(m, { method: 'get_child_device_list' }).result;
    assert.equal(list.sum, 4);
    assert.equal(list.start_index, 0);
    const outlet = list.child_device_list[1] as J;
    assert.equal(outlet.category, 'plug.powerstrip.sub-plug');
    assert.equal(outlet.device_on, false);
    assert.equal(outlet.position, 2);
    assert.equal(outlet.original_device_id, m.profile.deviceId);
    let r = ask(m, {
      method: 'control_child',
      params: { device_id: outlet.device_id, requestData: { method: 'set_device_info', params: { device_on: true } } },
    });
    assert.deepEqual(r, { error_code: 0, result: { responseData: { error_code: 0 } } });
    assert.equal(m.child(1)!.state.on, true);
    r = ask(m, {
      method: 'control_child',
      params: {
        device_id: outlet.device_id,
        requestData: {
          method: 'multipleRequest',
          params: { requests: [{ method: 'get_device_info' }, { method: 'get_energy_usage' }, { method: 'get_current_power' }] },
        },
      },
    });
    const resp = r.result.responseData.result.responses as J[];
    assert.equal(resp[0]!.result.device_on, true);
    assert.equal(resp[1]!.result.current_power, undefined); // outlet quirk
    assert.ok(resp[1]!.result.month_energy >= 0);
    assert.ok(resp[2]!.result.current_power >= 14 && resp[2]!.result.current_power <= 16);
    assert.equal(ask(m, { method: 'control_child', params: { device_id: 'nope', requestData: { method: 'get_device_info' } } }).error_code, -1008);
    assert.equal(ask(m, { method: 'get_energy_usage' }).error_code, -1002); // energy is per outlet
    assert.equal(ask(m, { method: 'get_device_info' }).result.device_on, undefined);
  });

  it('pages hub children with start_index/sum and exposes sensor state', () => {
    const m = smart('h100', { pageSize: 2 });
    const p1 = ask(m, { method: 'get_child_device_list', params: { start_index: 0 } }).result;
    assert.equal(p1.sum, 5); // T315, T110, T100, S200B, T300 (S200B and T300 added later)
    assert.equal(p1.child_device_list.length, 2);
    const p2 = ask(m, { method: 'get_child_device_list', params: { start_index: 2 } }).result;
    assert.equal(p2.child_device_list.length, 2);
    assert.equal(p2.start_index, 2);
    assert.equal(ask(m, { method: 'get_child_device_list', params: { start_index: 5 } }).result.child_device_list.length, 0);
    assert.equal(ask(m, { method: 'get_child_device_list', params: { start_index: -1 } }).error_code, -1008);
    const comps = ask(m, { method: 'get_child_device_component_list' }).result;
    assert.equal(comps.sum, 5);
    assert.equal(comps.child_component_list.length, 2);
    const [t315, t110] = p1.child_device_list as J[];
    assert.equal(t315!.category, 'subg.trigger.temp-hmdt-sensor');
    assert.equal(t315!.current_temp, 21.6);
    assert.equal(t315!.current_humidity, 48);
    assert.equal(t110!.open, false);
    assert.equal(t110!.parent_device_id, m.profile.deviceId);
    assert.equal((p2.child_device_list[0] as J).at_low_battery, true);
    assert.equal((p2.child_device_list[0] as J).detected, false);
    m.child(1)!.state.open = true;
    const r = ask(m, { method: 'control_child', params: { device_id: t110!.device_id, requestData: { method: 'get_device_info' } } });
    assert.equal(r.result.responseData.result.open, true);
    assert.equal(unb64(r.result.responseData.result.nickname), 'Front Door');
    const rec = ask(m, { method: 'control_child', params: { device_id: t315!.device_id, requestData: { method: 'get_temp_humidity_records' } } });
    assert.equal(rec.result.responseData.result.past24h_temp.length, 96);
    const on = ask(m, {
      method: 'control_child',
      params: { device_id: t315!.device_id, requestData: { method: 'set_device_info', params: { device_on: true } } },
    });
    assert.equal(on.result.responseData.error_code, -1008);
    assert.deepEqual(ask(m, { method: 'get_device_usage' }).result, {});
  });

  it('sets colour, colour temperature and brightness on a bulb; dims a dimmer', () => {
    const m = smart('l530');
    ask(m, { method: 'set_device_info', params: { hue: 200, saturation: 50 } });
    let i = ask(m, { method: 'get_device_info' }).result;
    assert.deepEqual([i.hue, i.saturation, i.color_temp], [200, 50, 0]);
    assert.deepEqual(i.color_temp_range, [2500, 6500]);
    ask(m, { method: 'set_device_info', params: { color_temp: 4000, brightness: 20 } });
    i = ask(m, { method: 'get_device_info' }).result;
    assert.deepEqual([i.color_temp, i.brightness], [4000, 20]);
    assert.equal(ask(m, { method: 'set_device_info', params: { color_temp: 9000 } }).error_code, -1008);
    assert.equal(ask(m, { method: 'set_device_info', params: { brightness: 0 } }).error_code, -1008);
    const d = smart('ks225');
    ask(d, { method: 'set_device_info', params: { brightness: 12 } });
    assert.equal(ask(d, { method: 'get_device_info' }).result.brightness, 12);
    assert.equal(ask(d, { method: 'set_device_info', params: { hue: 5 } }).error_code, -1008);
    assert.deepEqual(ask(d, { method: 'get_preset_rules' }).result.brightness.length, 5);
    const strip = smart('l920');
    assert.equal(typeof ask(strip, { method: 'get_device_info' }).result.lighting_effect.enable, 'number');
    assert.equal(ask(strip, { method: 'set_lighting_effect', params: { enable: 0 } }).error_code, 0);
  });

  it('keeps LED state and answers the first-contact batch', () => {
    const m = smart('kp125m');
    assert.equal(ask(m, { method: 'get_led_info' }).result.led_status, true);
    assert.equal(ask(m, { method: 'set_led_info', params: { led_rule: 'sometimes' } }).error_code, -1008);
    ask(m, { method: 'set_led_info', params: { led_rule: 'never' } });
    assert.deepEqual([ask(m, { method: 'get_led_info' }).result.led_rule, ask(m, { method: 'get_led_info' }).result.led_status], ['never', false]);
    const r = ask(m, {
      method: 'multipleRequest',
      params: { requests: [{ method: 'component_nego' }, { method: 'get_device_info' }, { method: 'get_connect_cloud_state' }] },
    });
    assert.deepEqual(
      r.result.responses.map((x: J) => x.error_code),
      [0, 0, 0],
    );
    assert.deepEqual(ask(m, { method: 'device_reboot', params: { delay: 1 } }), { error_code: 0 });
  });
});
