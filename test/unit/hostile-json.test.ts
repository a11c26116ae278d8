// Hostile JSON (issue #6 item 3): every field every normaliser reads, in every device family (IOT
// plug, strip, dimmer, bulb, light strip; SMART plug, bulb, switch, strip, hub with sensors; energy
// and statistics of both protocols; discovery answers), replaced by wrong types, huge numbers, -0,
// NaN-like strings, 1 MB strings, 10k-level nesting and polluting objects, and __proto__ /
// constructor / prototype keys added at every level. Expected: no crash, no prototype pollution,
// each field left out (or a typed error where the answer as a whole is unusable), and the output
// still matching the normalised model's types and ranges. Deep nesting through parseJson gives a
// typed EPROTOCOL, never an untyped RangeError.
import { strict as assert } from 'node:assert';
import { KasaTapoError } from '../../src/errors';
import { MAX_JSON_DEPTH, parseJson, parseJsonObject } from '../../src/json';
import { xorEncrypt } from '../../src/crypto/xor';
import { AesCipher } from '../../src/crypto/aes';
import { openAesEnvelope } from '../../src/transports/aes';
import { parseLegacyAnswer, parseTdpAnswer } from '../../src/discovery';
import {
  iotTodayMonth,
  normaliseIotRealtime,
  normaliseIotStats,
  normaliseIotSysinfo,
  normaliseSmartChild,
  normaliseSmartEnergy,
  normaliseSmartEnergyData,
  normaliseSmartInfo,
  smartComponents,
} from '../../src/device/normalise';
import { classifyIot } from '../../src/device/table';
import { IotProtocol } from '../../src/protocols/iot';
import { SmartProtocol } from '../../src/protocols/smart';
import { IotAdapter } from '../../src/device/iot/adapter';
import { SmartAdapter } from '../../src/device/smart/adapter';
import { IotDeviceModel } from '../../src/simulator/iot';
import { SmartDeviceModel } from '../../src/simulator/smart';
import { getProfile } from '../../src/simulator/profiles';
import { discoveryResult, tdpPacket } from '../../src/simulator/discovery';
import type { Transport, TransportKind } from '../../src/types';

type Obj = Record<string, unknown>;
type Path = (string | number)[];

const NOW = Date.UTC(2024, 4, 15, 12);
const clock = (): number => NOW;
const HOST = '127.0.0.1';
const WHERE = { host: HOST, port: 9999, transport: 'xor' as const };
const SWHERE = { host: HOST, port: 80, transport: 'klap' as const };
const BAD_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// --- hostile values -----------------------------------------------------------------------------

const deepText = (n: number, open = '[', close = ']'): string => open.repeat(n) + '1' + close.repeat(n);
/** Raw JSON texts put in place of a field (so 1e309 becomes Infinity and -0 stays -0 in JS). */
const JSON_VALUES: readonly string[] = [
  '"x"',
  '""',
  '0',
  '-0',
  '1',
  '-1',
  '0.5',
  '1.5',
  '12.5',
  '2024.5',
  '100',
  '101',
  '-151',
  '360.5',
  '1e309',
  '-1e309',
  '1e308',
  '-1e308',
  '5e-324',
  '123456789012345678901234567890',
  '9007199254740993',
  'true',
  'false',
  'null',
  '[]',
  '{}',
  '[1]',
  '["x"]',
  '[[[]]]',
  '{"a":1}',
  '"NaN"',
  '"Infinity"',
  '"-Infinity"',
  '"-0"',
  '"1"',
  '"1e309"',
  '"true"',
  '"null"',
  '"\\u0000"',
  '"\\ud800"',
  '"AA-BB-CC-DD-EE-FF"',
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '[{"__proto__":{"polluted":"yes"}}]',
  deepText(MAX_JSON_DEPTH - 8),
  deepText(MAX_JSON_DEPTH - 8, '{"a":', '}'),
];

const MB_STRING = 'A'.repeat(1 << 20);
const MB_B64 = Buffer.alloc(786432, 0x41).toString('base64'); // 1 MiB of base64 (nickname fields are base64)
function deepArray(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}
function deepObject(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v, type: v };
  return v;
}
/** JS values put directly into an already-parsed answer: what no JSON text can carry through parseJson. */
const DIRECT_VALUES: readonly [string, unknown][] = [
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['-0', -0],
  ['1 MB string', MB_STRING],
  ['1 MB base64', MB_B64],
  ['10k-deep array', deepArray(10000)],
  ['10k-deep object', deepObject(10000)],
  ['100k-element array', new Array(100000).fill('IOT.SMARTBULB')],
  [
    'own __proto__ key',
    JSON.parse('{"__proto__":{"polluted":"yes","relay_state":1,"device_on":true,"on_off":1},"constructor":{"prototype":{"polluted":"yes"}}}'),
  ],
];

// --- invariants ---------------------------------------------------------------------------------

function assertNoPollution(): void {
  const probe = {} as Obj;
  assert.equal(probe['polluted'], undefined, 'Object.prototype was polluted');
  assert.equal(([] as unknown as Obj)['polluted'], undefined, 'Array.prototype was polluted');
  for (const k of ['relay_state', 'device_on', 'on_off', 'a', 'x']) assert.equal(probe[k], undefined, `Object.prototype.${k} appeared`);
}

const isNum = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0) && v >= min && v <= max;
const isStr = (max: number) => (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= max;
const isBool = (v: unknown) => typeof v === 'boolean';
const FAMILIES = new Set(['plug', 'strip', 'switch', 'dimmer', 'bulb', 'lightstrip', 'hub', 'sensor', 'unknown']);
const isFamily = (v: unknown) => typeof v === 'string' && FAMILIES.has(v);
const isMac = (v: unknown) => typeof v === 'string' && /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/.test(v);

type Rules = Record<string, (v: unknown) => boolean>;
const CHILD: Rules = {
  id: isStr(256),
  index: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < 256,
  alias: isStr(256),
  model: isStr(64),
  family: isFamily,
  kind: isStr(64),
  on: isBool,
  brightness: isNum(0, 100),
  temperatureC: isNum(-100, 200),
  humidityPercent: isNum(0, 100),
  open: isBool,
  detected: isBool,
  batteryLow: isBool,
  targetTemperatureC: isNum(-50, 100),
  rssi: isNum(-150, 0),
  online: isBool,
  onTimeS: isNum(0, 1e12),
};
const STATE: Rules = {
  on: isBool,
  brightness: isNum(0, 100),
  colorTemp: isNum(1, 20000),
  hue: isNum(0, 360),
  saturation: isNum(0, 100),
  led: isBool,
  alias: isStr(256),
  model: isStr(64),
  host: isStr(64),
  port: isNum(1, 65535),
  family: isFamily,
  protocol: isStr(16),
  mac: isMac,
  deviceId: isStr(128),
  firmware: isStr(64),
  hardware: isStr(32),
  rssi: isNum(-150, 0),
  onTimeS: isNum(0, 1e12),
  hasEnergyMeter: isBool,
  colorTempRange: (v) => Array.isArray(v) && v.length === 2 && isNum(1, 20000)(v[0]) && isNum(1, 20000)(v[1]) && v[0] <= v[1],
  children: (v) => Array.isArray(v) && v.length <= 256 && v.every((c) => checkRules(c, CHILD, 'child') === true),
};
const ENERGY: Rules = {
  powerW: isNum(-1e9, 1e9),
  voltageV: isNum(0, 1e9),
  currentA: isNum(0, 1e9),
  todayKWh: isNum(0, 1e9),
  monthKWh: isNum(0, 1e9),
  totalKWh: isNum(0, 1e9),
};
const HISTORY: Rules = {
  period: (v) => v === 'day' || v === 'month',
  entries: (v) =>
    Array.isArray(v) &&
    v.length <= 400 &&
    v.every((e) => {
      if (typeof e !== 'object' || e === null || Object.keys(e).join() !== 'date,kWh') return false;
      const { date, kWh } = e as { date: unknown; kWh: unknown };
      return typeof date === 'string' && /^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/.test(date) && isNum(0, 1e9)(kWh);
    }),
};
const CAPS: Rules = Object.fromEntries(
  ['onOff', 'brightness', 'color', 'colorTemp', 'led', 'alias', 'transition', 'energy', 'children'].map((k) => [k, isBool]),
);

/** true, or the first field that breaks the rules (unknown output keys included). */
function checkRules(v: unknown, rules: Rules, what: string): true | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${what} is not an object`;
  if (Object.getPrototypeOf(v) !== Object.prototype) return `${what} is not a plain object`;
  for (const [k, x] of Object.entries(v)) {
    const rule = rules[k];
    if (!rule) return `${what}.${k} is not a field of the model`;
    if (!rule(x)) return `${what}.${k} = ${JSON.stringify(x)?.slice(0, 80)} breaks its type or range`;
  }
  return true;
}
function assertRules(v: unknown, rules: Rules, what: string): void {
  const r = checkRules(v, rules, what);
  assert.equal(r, true, String(r));
}
function assertNormalised(n: unknown): void {
  const { state, caps } = n as { state: unknown; caps: unknown };
  assertRules(state, STATE, 'state');
  assertRules(caps, CAPS, 'caps');
}

// --- fixtures: valid answers from the simulator's device models ---------------------------------

const iot = (id: string, req: string): Obj => JSON.parse(new IotDeviceModel(getProfile(id), { now: clock }).handle(req)) as Obj;
const smart = (id: string, method: string, params?: Obj): Obj => {
  const answer = JSON.parse(new SmartDeviceModel(getProfile(id), { now: clock }).handle(JSON.stringify({ method, ...(params ? { params } : {}) }))) as Obj;
  return (answer['result'] ?? {}) as Obj;
};
const sysinfo = (id: string): Obj => (iot(id, '{"system":{"get_sysinfo":{}}}')['system'] as Obj)['get_sysinfo'] as Obj;
const SMART_START = Date.UTC(2024, 3, 1) / 1000;

interface Fixture {
  name: string;
  /** The answer (object) whose every field gets replaced. */
  base: Obj;
  /** Run the normaliser(s) that read it; check the output. Must not throw. */
  run(o: Obj): unknown;
  check(out: unknown): void;
  /** The parser takes bytes (discovery): values that JSON cannot carry are not tried. */
  bytes?: boolean;
}

const smartInfo = (id: string): Fixture => {
  const components = smartComponents(smart(id, 'component_nego'));
  const children = components.has('child_device') ? (smart(id, 'get_child_device_list')['child_device_list'] as unknown[]) : undefined;
  return {
    name: `SMART ${id} get_device_info`,
    base: smart(id, 'get_device_info'),
    run: (o) => normaliseSmartInfo(o, components, children, SWHERE),
    check: assertNormalised,
  };
};
const smartChildren = (id: string): Fixture => {
  const components = smartComponents(smart(id, 'component_nego'));
  const info = smart(id, 'get_device_info');
  return {
    name: `SMART ${id} get_child_device_list`,
    base: smart(id, 'get_child_device_list'),
    run: (o) => {
      const list = o['child_device_list'];
      return normaliseSmartInfo(info, components, Array.isArray(list) ? list : undefined, SWHERE);
    },
    check: assertNormalised,
  };
};

const FIXTURES: Fixture[] = [
  ...['hs100', 'kp115', 'hs300', 'kp303', 'hs220', 'kl130', 'kl430'].map((id): Fixture => ({
    name: `IOT ${id} sysinfo`,
    base: sysinfo(id),
    run: (o) => normaliseIotSysinfo(o, WHERE),
    check: assertNormalised,
  })),
  {
    // A bulb that is off: the remembered state in dft_on_state is read instead.
    name: 'IOT kl130 sysinfo (off)',
    base: (() => {
      const s = sysinfo('kl130');
      const ls = s['light_state'] as Obj;
      s['light_state'] = { on_off: 0, dft_on_state: { ...ls, on_off: undefined } };
      return JSON.parse(JSON.stringify(s)) as Obj;
    })(),
    run: (o) => normaliseIotSysinfo(o, WHERE),
    check: assertNormalised,
  },
  ...(['hs110v1', 'kp115'] as const).map((id): Fixture => ({
    name: `IOT ${id} emeter get_realtime`,
    base: (iot(id, '{"emeter":{"get_realtime":{}}}')['emeter'] as Obj)['get_realtime'] as Obj,
    run: (o) => normaliseIotRealtime(o),
    check: (out) => assertRules(out, ENERGY, 'energy'),
  })),
  ...(['get_daystat', 'get_monthstat'] as const).map((m): Fixture => {
    const em = iot('kp115', JSON.stringify({ emeter: { [m]: { year: 2024, month: 5 } } }))['emeter'] as Obj;
    const period = m === 'get_daystat' ? 'day' : 'month';
    return {
      name: `IOT kp115 emeter ${m}`,
      base: em[m] as Obj,
      run: (o) => [normaliseIotStats(period, o), period === 'day' ? iotTodayMonth(o, undefined, new Date(NOW)) : iotTodayMonth(undefined, o, new Date(NOW))],
      check: (out) => {
        const [h, e] = out as [unknown, unknown];
        assertRules(h, HISTORY, 'history');
        assertRules(e, ENERGY, 'energy');
      },
    };
  }),
  ...['p110', 'l530', 'ks225', 'p304m', 'h100'].map(smartInfo),
  ...['p304m', 'h100'].map(smartChildren),
  {
    name: 'SMART p110 get_energy_usage + get_current_power',
    base: { ...smart('p110', 'get_energy_usage'), ...smart('p110', 'get_current_power') },
    run: (o) => [normaliseSmartEnergy(o, undefined, undefined), normaliseSmartEnergy(undefined, undefined, o), normaliseSmartEnergy(o, o, o)],
    check: (out) => (out as unknown[]).forEach((e) => assertRules(e, ENERGY, 'energy')),
  },
  {
    name: 'SMART get_emeter_data',
    base: { power_mw: 1003, voltage_mv: 121215, current_ma: 33, energy_wh: 971 },
    run: (o) => normaliseSmartEnergy(undefined, o, undefined),
    check: (out) => assertRules(out, ENERGY, 'energy'),
  },
  ...(['day', 'month'] as const).map((period): Fixture => ({
    name: `SMART p110 get_energy_data (${period})`,
    base: smart('p110', 'get_energy_data', {
      start_timestamp: SMART_START,
      end_timestamp: SMART_START + 86400 * 60,
      interval: period === 'day' ? 1440 : 43200,
    }),
    run: (o) => normaliseSmartEnergyData(period, o, SMART_START, 2024, 5),
    check: (out) => assertRules(out, HISTORY, 'history'),
  })),
  {
    name: 'SMART component_nego',
    base: smart('p304m', 'component_nego'),
    run: (o) => [...smartComponents(o)],
    check: (out) => assert.ok(Array.isArray(out) && out.length <= 200 && out.every((c) => typeof c === 'string')),
  },
  ...['hs100', 'hs300', 'kl430'].map((id): Fixture => ({
    name: `discovery 9999 ${id}`,
    base: sysinfo(id),
    run: (o) => parseLegacyAnswer(xorEncrypt(JSON.stringify({ system: { get_sysinfo: o } })), HOST),
    check: checkDiscovery,
    bytes: true,
  })),
  ...['p110', 'h100', 'hs100uk', 'p110tpap', 'c210'].map((id): Fixture => ({
    name: `discovery 20002 ${id}`,
    base: discoveryResult(getProfile(id), HOST, 80)!,
    run: (o) => parseTdpAnswer(tdpPacket(Buffer.from(JSON.stringify({ error_code: 0, result: o }))), HOST),
    check: checkDiscovery,
    bytes: true,
  })),
];

function checkDiscovery(r: unknown): void {
  if (r === undefined) return;
  const { raw: _raw, ...rest } = r as Obj;
  assertRules(
    rest,
    {
      host: isStr(64),
      port: isNum(1, 65535),
      family: isFamily,
      deviceType: isStr(64),
      protocol: (v) => v === 'iot' || v === 'smart',
      supported: isBool,
      transport: isStr(16),
      reason: isStr(400),
      loginVersion: (v) => v === 1 || v === 2,
      alias: isStr(128),
      mac: isMac,
      deviceId: isStr(128),
      model: isStr(64),
      modelFull: isStr(64),
    },
    'discovery',
  );
}

/** Every path to a value in `o` (arrays: the first two elements), the root excluded. */
function paths(o: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(o)) o.slice(0, 2).forEach((v, i) => (out.push([...prefix, i]), paths(v, [...prefix, i], out)));
  else if (o !== null && typeof o === 'object')
    for (const [k, v] of Object.entries(o)) {
      out.push([...prefix, k]);
      paths(v, [...prefix, k], out);
    }
  return out;
}
/** Every path to an object in `o` (the root included). */
function objectPaths(o: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(o)) o.slice(0, 2).forEach((v, i) => objectPaths(v, [...prefix, i], out));
  else if (o !== null && typeof o === 'object') {
    out.push(prefix);
    for (const [k, v] of Object.entries(o)) objectPaths(v, [...prefix, k], out);
  }
  return out;
}
function setAt(root: unknown, path: Path, value: unknown): void {
  let o = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]!] = value;
}
function getAt(root: unknown, path: Path): unknown {
  let o = root as Record<string | number, unknown>;
  for (const k of path) o = o[k] as Record<string | number, unknown>;
  return o;
}
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const MARK = '@@HOSTILE@@';

/** Run a fixture's normaliser on `o`: no throw, rules hold, nothing polluted. */
function runFixture(f: Fixture, o: Obj, what: string): unknown {
  let out: unknown;
  try {
    out = f.run(o);
  } catch (e) {
    assert.fail(`${f.name}, ${what}: the normaliser threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  try {
    f.check(out);
    assertNoPollution();
  } catch (e) {
    assert.fail(`${f.name}, ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return out;
}

describe('hostile JSON', () => {
  describe('parseJson', () => {
    it('10k- and 100k-level nesting: a typed EPROTOCOL, never an untyped RangeError', () => {
      for (const n of [MAX_JSON_DEPTH + 1, 10000, 100000]) {
        for (const text of [
          deepText(n),
          deepText(n, '{"a":', '}'),
          deepText(n, '{"__proto__":1,"a":', '}'), // the reviver path
          deepText(n, '[{"constructor":', '}]'),
          `{"system":{"get_sysinfo":{"type":${deepText(n)}}}}`,
          '[' + '{"a":['.repeat(n) + ']}'.repeat(n) + ']',
        ]) {
          assert.throws(
            () => parseJson(text),
            (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL' && /deeper/.test(e.message),
            `depth ${n}: ${text.slice(0, 40)}`,
          );
        }
      }
      // Unclosed deep text is refused the same way, before JSON.parse sees it.
      assert.throws(
        () => parseJson('['.repeat(100000)),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
      assertNoPollution();
    });

    it('nesting up to the limit parses; brackets inside strings (and escaped quotes) do not count', () => {
      assert.ok(Array.isArray(parseJson(deepText(MAX_JSON_DEPTH))));
      assert.equal(typeof parseJson(deepText(MAX_JSON_DEPTH, '{"__proto__":0,"a":', '}')), 'object');
      const inString = JSON.stringify({ s: '['.repeat(10000), t: '\\"[[[[', u: '"{'.repeat(5000) });
      assert.deepEqual(parseJson(inString), JSON.parse(inString));
      assert.equal((parseJson(`["\\\\", ${deepText(10)}]`) as unknown[]).length, 2);
      // A string that only looks closed (an escaped quote) keeps its brackets inside it.
      assert.throws(
        () => parseJson(`["\\"${'['.repeat(MAX_JSON_DEPTH + 1)}`),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
    });

    it('__proto__, constructor and prototype keys at every level are dropped, escaped spellings included', () => {
      const payload = '{"polluted":"yes","relay_state":1}';
      const text =
        `{"__proto__":${payload},"constructor":{"prototype":${payload}},"prototype":${payload},` +
        `"\\u005f_proto__":${payload},"\\u0063onstructor":{"prototype":${payload}},` +
        `"a":[{"__proto__":${payload},"b":{"constructor":{"prototype":${payload}},"c":[{"prototype":${payload},"ok":1}]}}],"ok":true}`;
      const v = parseJson(text) as Obj;
      assert.deepEqual(v, { a: [{ b: { c: [{ ok: 1 }] } }], ok: true });
      const stack: unknown[] = [v];
      while (stack.length) {
        const x = stack.pop();
        if (x === null || typeof x !== 'object') continue;
        assert.equal(Object.getPrototypeOf(x), Array.isArray(x) ? Array.prototype : Object.prototype);
        for (const k of Object.keys(x)) {
          assert.ok(!BAD_KEYS.has(k), k);
          stack.push((x as Obj)[k]);
        }
      }
      // Whatever the library later does with the result cannot reach a prototype.
      const merged = Object.assign({}, v, ...(v['a'] as Obj[]));
      void { ...merged };
      structuredClone(v);
      assertNoPollution();
      assert.deepEqual(parseJsonObject('{"__proto__":[],"x":1}'), { x: 1 });
    });

    it('huge numbers, -0, NaN-like strings, 1 MB strings, bad text: values or EPROTOCOL, nothing else', () => {
      assert.equal(parseJson('1e309'), Infinity);
      assert.ok(Object.is(parseJson('-0'), -0));
      assert.equal(parseJson('"NaN"'), 'NaN');
      assert.equal((parseJson(`{"s":"${MB_STRING}"}`) as { s: string }).s.length, 1 << 20);
      assert.equal((parseJson(`[${'1,'.repeat(200000)}1]`) as unknown[]).length, 200001);
      for (const bad of [
        '',
        ' ',
        '\u0000',
        '\ufeff{}',
        '{',
        '{"a":}',
        "{'a':1}",
        'NaN',
        'Infinity',
        'undefined',
        '{"a":1}}',
        '[1,]',
        '{"a":1,}',
        '"\\x41"',
        '01',
        '1e',
        '--1',
        '{"a":"\u0001"}',
      ]) {
        assert.throws(
          () => parseJson(bad),
          (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
          JSON.stringify(bad),
        );
      }
      assert.throws(
        () => parseJsonObject('[1]'),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
      assert.throws(
        () => parseJson(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
      assertNoPollution();
    });

    it('deep nesting inside an encrypted envelope or a discovery answer: typed error / ignored', () => {
      const c = new AesCipher(Buffer.alloc(16, 1), Buffer.alloc(16, 2));
      const env = (inner: string): Buffer => Buffer.from(JSON.stringify({ error_code: 0, result: { response: c.encrypt(inner) } }));
      const text = openAesEnvelope(c, env(deepText(10000)), HOST);
      assert.throws(
        () => parseJson(text),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
      assert.throws(
        () => openAesEnvelope(c, Buffer.from(`{"error_code":0,"result":${deepText(10000, '{"response":', '}')}}`), HOST),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
      assert.equal(parseLegacyAnswer(xorEncrypt(`{"system":{"get_sysinfo":{"type":${deepText(10000)}}}}`), HOST), undefined);
      assert.equal(parseTdpAnswer(tdpPacket(Buffer.from(`{"error_code":0,"result":{"device_type":${deepText(10000)}}}`)), HOST), undefined);
    });
  });

  describe('normalisers: every field of every family replaced by a hostile value', () => {
    for (const f of FIXTURES) {
      it(`${f.name}: wrong types, huge and NaN-like values, long strings, deep nesting → field left out`, () => {
        const baseline = runFixture(f, clone(f.base), 'unmodified');
        const all = paths(f.base);
        assert.ok(all.length > 0);
        let runs = 0;
        for (const path of all) {
          // Through the wire path: JSON text → parseJson → normaliser.
          const marked = clone(f.base);
          setAt(marked, path, MARK);
          const markedText = JSON.stringify(marked);
          for (const raw of JSON_VALUES) {
            const o = parseJson(markedText.replace(`"${MARK}"`, () => raw)) as Obj;
            runFixture(f, o, `${path.join('.')} = ${raw.slice(0, 40)}`);
            runs++;
          }
          // Values no JSON text can carry past parseJson, set directly.
          for (const [label, value] of f.bytes ? [] : DIRECT_VALUES) {
            const o = clone(f.base);
            setAt(o, path, value);
            runFixture(f, o, `${path.join('.')} = ${label}`);
            runs++;
          }
        }
        // A 1 MB string through the wire path for every top-level field.
        for (const key of Object.keys(f.base)) {
          const marked = clone(f.base);
          marked[key] = MARK;
          // (A datagram cannot carry 1 MB: discovery answers get 60 kB.)
          const big = f.bytes ? MB_STRING.slice(0, 60000) : MB_STRING;
          const o = parseJson(JSON.stringify(marked).replace(`"${MARK}"`, () => `"${big}"`)) as Obj;
          runFixture(f, o, `${key} = 1 MB string (wire)`);
          runs++;
        }
        assert.ok(runs >= all.length * JSON_VALUES.length);
        assert.ok(baseline !== undefined || f.name.startsWith('discovery'));
      });

      it(`${f.name}: __proto__/constructor/prototype keys at every level change nothing`, () => {
        const baseline = JSON.stringify(runFixture(f, clone(f.base), 'unmodified'), (_k, v: unknown) => (v instanceof Set ? [...v] : v));
        const evil = (fields: string): string =>
          `"__proto__":{"polluted":"yes",${fields}},"constructor":{"prototype":{"polluted":"yes",${fields}}},"prototype":{"polluted":"yes"},"\\u005f_proto__":{"polluted":"yes"}`;
        for (const path of objectPaths(f.base)) {
          const target = getAt(f.base, path);
          if (Array.isArray(target)) continue;
          // The payload repeats the object's own fields with other values: none may be taken.
          const fields = Object.keys(target as Obj)
            .slice(0, 20)
            .map(
              (k) =>
                `${JSON.stringify(k)}:${JSON.stringify(typeof (target as Obj)[k] === 'number' ? 1 : typeof (target as Obj)[k] === 'boolean' ? !(target as Obj)[k] : 'evil')}`,
            )
            .concat(['"relay_state":1', '"device_on":true', '"on_off":1', '"mic_type":"IOT.SMARTBULB"', '"length":1'])
            .join(',');
          const marked = clone(f.base);
          setAt(marked, [...path, MARK], 0);
          const text = JSON.stringify(marked).replace(`"${MARK}":0`, () => evil(fields));
          // Through parseJson (keys dropped) and through a plain JSON.parse (own "__proto__" keys kept).
          for (const [how, o] of [
            ['parseJson', parseJson(text)],
            ['JSON.parse', JSON.parse(text)],
          ] as const) {
            const out = runFixture(f, o as Obj, `${how}, hostile keys at ${path.join('.') || 'root'}`);
            const got = JSON.stringify(out, (_k, v: unknown) => (v instanceof Set ? [...v] : v));
            assert.equal(got, baseline, `${f.name}: hostile keys at ${path.join('.') || 'root'} (${how}) changed the output`);
          }
        }
      });
    }

    it('classifyIot and the IOT normaliser survive a 10k-deep or 100k-element type/dev_name (no String() recursion)', () => {
      for (const v of [deepArray(10000), deepArray(100000), new Array(100000).fill('smartbulb'), deepObject(10000)]) {
        assert.equal(classifyIot({ type: v }), 'unknown');
        assert.equal(classifyIot({ mic_type: v, type: 'IOT.SMARTBULB' }), 'unknown');
        assert.equal(classifyIot({ type: 'IOT.SMARTPLUGSWITCH', dev_name: v }), 'plug');
        assert.equal(normaliseIotSysinfo({ mic_type: v, alias: v, model: v, mac: v, children: v }, WHERE).state.family, 'unknown');
      }
    });

    it('-0 anywhere reads as 0, never -0', () => {
      const s = normaliseIotSysinfo(JSON.parse('{"mic_type":"IOT.SMARTPLUGSWITCH","brightness":-0,"on_time":-0,"rssi":-0}') as Obj, WHERE).state;
      assert.ok(Object.is(s.brightness, 0) && Object.is(s.onTimeS, 0) && Object.is(s.rssi, 0));
      const e = normaliseIotRealtime(JSON.parse('{"power_mw":-0,"voltage":-0,"current_ma":-0.0000001,"total_wh":-0}') as Obj);
      for (const v of Object.values(e)) assert.ok(Object.is(v, 0));
      const p = normaliseSmartEnergy({ current_power: -0.0001 }, undefined, undefined);
      assert.ok(Object.is(p.powerW, 0));
      const c = normaliseSmartChild({ device_id: 'X', category: 'subg.trigger.temp-hmdt-sensor', current_temp: 31.99, temp_unit: 'fahrenheit' }, 0);
      assert.ok(c && Object.is(c.temperatureC, 0));
    });
  });

  describe('whole answers of the wrong shape behind the adapters: a typed error or fields left out', () => {
    /** A transport answering from a simulator model, with `patch` applied to one method's answer. */
    class PatchedTransport implements Transport {
      readonly stats = { handshakes: 1, requests: 0 };
      readonly host = HOST;
      constructor(
        readonly kind: TransportKind,
        readonly port: number,
        private readonly model: IotDeviceModel | SmartDeviceModel,
        private readonly patch: (req: Obj, answer: string) => string,
      ) {}
      async send(request: string): Promise<unknown> {
        return parseJson(this.patch(JSON.parse(request) as Obj, this.model.handle(request)));
      }
      reset(): void {}
      async close(): Promise<void> {}
    }
    const values = [...JSON_VALUES, deepText(10000), `"${MB_STRING}"`];

    async function expectTypedOrClean(what: string, run: () => Promise<unknown>, check: (v: unknown) => void): Promise<void> {
      let v: unknown;
      try {
        v = await run();
      } catch (e) {
        assert.ok(e instanceof KasaTapoError && typeof e.code === 'string', `${what}: untyped ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        assertNoPollution();
        return;
      }
      try {
        check(v);
      } catch (e) {
        assert.fail(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
      assertNoPollution();
    }

    it('IOT: module, method result and err_code of sysinfo, emeter and stats', async () => {
      const shapes: [string, (v: string) => string][] = [
        ['answer', (v) => v],
        ['module', (v) => `{"system":${v},"emeter":${v},"smartlife.iot.common.emeter":${v}}`],
        [
          'result',
          (v) =>
            `{"system":{"get_sysinfo":${v}},"emeter":{"get_realtime":${v},"get_daystat":${v},"get_monthstat":${v}},"smartlife.iot.common.emeter":{"get_realtime":${v},"get_daystat":${v},"get_monthstat":${v}}}`,
        ],
        [
          'err_code',
          (v) =>
            `{"system":{"err_code":${v},"get_sysinfo":{"err_code":${v},"mic_type":"IOT.SMARTPLUGSWITCH","feature":"TIM:ENE"}},` +
            `"emeter":{"err_code":${v},"get_realtime":{"err_code":${v}},"get_daystat":{"err_code":${v}}},"smartlife.iot.common.emeter":{"err_code":${v},"get_realtime":{"err_code":${v}}}}`,
        ],
      ];
      for (const id of ['kp115', 'hs300', 'kl130']) {
        const model = new IotDeviceModel(getProfile(id), { now: clock });
        const good = await new IotAdapter(new IotProtocol(new PatchedTransport('xor', 9999, model, (_r, a) => a), { retries: 0 }), WHERE).read();
        for (const [shape, make] of shapes) {
          for (const v of values) {
            const t = new PatchedTransport('xor', 9999, model, () => make(v));
            const adapter = new IotAdapter(new IotProtocol(t, { retries: 0, backoffMs: 0 }), WHERE);
            const what = `IOT ${id} ${shape} = ${v.slice(0, 40)}`;
            await expectTypedOrClean(`${what} (read)`, async () => (await adapter.read()).value, assertNormalised);
            await expectTypedOrClean(
              `${what} (energy)`,
              async () => (await adapter.energy(good.value)).value,
              (e) => assertRules(e, ENERGY, 'energy'),
            );
            await expectTypedOrClean(
              `${what} (history)`,
              async () => (await adapter.history('day', 2024, 5, good.value)).value,
              (h) => assertRules(h, HISTORY, 'history'),
            );
          }
        }
      }
    });

    it('SMART: error_code, result, multipleRequest responses, child lists, control_child responseData', async () => {
      const shapes: [string, (req: Obj, answer: string, v: string) => string][] = [
        ['answer', (_r, _a, v) => v],
        ['error_code', (_r, a, v) => a.replace(/"error_code":-?\d+/, () => `"error_code":${v}`)],
        ['result', (_r, a, v) => (/"result":/.test(a) ? a.replace(/"result":/, () => `"result":${v},"x":`) : `{"error_code":0,"result":${v}}`)],
        ['responses', (r, a, v) => (r['method'] === 'multipleRequest' ? `{"error_code":0,"result":{"responses":${v}}}` : a)],
        [
          'response item',
          (r, a, v) => (r['method'] === 'multipleRequest' ? `{"error_code":0,"result":{"responses":[${v},{"method":${v},"error_code":0,"result":${v}}]}}` : a),
        ],
        [
          'child list',
          (r, a, v) =>
            r['method'] === 'get_child_device_list' || r['method'] === 'multipleRequest'
              ? a.replace(/"child_device_list":/, () => `"child_device_list":${v},"x":`).replace(/"sum":\d+/, () => `"sum":${v}`)
              : a,
        ],
        ['responseData', (r, a, v) => (r['method'] === 'control_child' ? `{"error_code":0,"result":{"responseData":${v}}}` : a)],
        ['components', (r, a, v) => a.replace(/"component_list":/, () => `"component_list":${v},"x":`)],
      ];
      for (const id of ['p110', 'p304m', 'h100']) {
        const model = new SmartDeviceModel(getProfile(id), { now: clock });
        const good = await new SmartAdapter(new SmartProtocol(new PatchedTransport('klap', 80, model, (_r, a) => a), { retries: 0 }), SWHERE).read();
        const child = good.value.state.children?.[0];
        for (const [shape, make] of shapes) {
          for (const v of values) {
            const t = new PatchedTransport('klap', 80, model, (r, a) => make(r, a, v));
            const adapter = new SmartAdapter(new SmartProtocol(t, { retries: 0, backoffMs: 0 }), SWHERE);
            const what = `SMART ${id} ${shape} = ${v.slice(0, 40)}`;
            await expectTypedOrClean(`${what} (read)`, async () => (await adapter.read()).value, assertNormalised);
            if (good.value.caps.energy) {
              await expectTypedOrClean(
                `${what} (energy)`,
                async () => (await adapter.energy(good.value)).value,
                (e) => assertRules(e, ENERGY, 'energy'),
              );
              await expectTypedOrClean(
                `${what} (history)`,
                async () => (await adapter.history('month', 2024, 5, good.value)).value,
                (h) => assertRules(h, HISTORY, 'history'),
              );
            }
            if (child)
              await expectTypedOrClean(
                `${what} (child energy)`,
                async () => (await adapter.energy(good.value, child)).value,
                (e) => assertRules(e, ENERGY, 'energy'),
              );
          }
        }
      }
    });
  });
});
