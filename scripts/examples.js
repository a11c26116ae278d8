#!/usr/bin/env node
// Writes examples/*.json (Node-RED's Import › Examples) from the short descriptions below.
// Run `node scripts/examples.js` after changing them; the files are committed.
//
// Every example carries the same pool config node "My TP-Link" (id kasa-tapo-home, no
// credentials) listing the supported devices of the simulated home that `npm start` runs on
// 127.0.10.x. Because every example uses the same id, importing a second example finds the pool
// already there: Node-RED (3.1, 4 and 5 alike) shows "Some of the nodes you are importing already
// exist"; "Import copy" gives the example's nodes new ids and keeps them on the existing pool (a
// global config node with the same id is reused, not copied). So there is only ever one pool to
// edit: the user's own devices and TP-Link account.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const POOL_ID = 'kasa-tapo-home';
const POOL_NAME = 'My TP-Link';
/** The simulated home's address prefix when `npm start` can bind it (scripts/start.js). */
const HOME_BASE = '127.0.10';

/**
 * The device list of the examples' pool: every supported device of the simulated home, by alias
 * and address, transport "auto" and no port (the pool asks the device, so this also works where
 * the home could not bind port 80 and moved a device to another port). Needs dist/ (npm run build).
 */
function homeDeviceList() {
  const sim = require(path.join(__dirname, '..', 'dist', 'src', 'simulator'));
  return sim
    .listProfiles()
    .map((id, i) => ({ p: sim.getProfile(id), i }))
    .filter(({ p }) => isSupportedProfile(p))
    .map(({ p, i }) => ({ alias: p.alias, host: `${HOME_BASE}.${i + 1}`, port: '', transport: 'auto' }));
}

/** Devices the library cannot control (an HTTPS-only camera, a login it does not speak) stay out of the pools. */
function isSupportedProfile(p) {
  return !p.unsupported && p.transport !== 'https';
}

/** The pool every example carries: no credentials (house rule), the simulated home's devices. */
function examplePool(devices) {
  return {
    id: POOL_ID,
    type: 'tplink-pool',
    name: POOL_NAME,
    devices,
    timeout: 5000,
    retries: 2,
    queueLimit: 1000,
    pollInterval: 10,
    broadcast: '127.255.255.255',
    version: 1,
  };
}

const id = (file, name) => crypto.createHash('sha1').update(`${file}/${name}`).digest('hex').slice(0, 16);

// Node builders. `to` lists the names the (first) output is wired to; `outs` gives every output.
const comment = (name, info) => ({ type: 'comment', name, info });
const inject = (name, payload, payloadType, more = {}) => ({
  type: 'inject',
  name,
  props: [{ p: 'payload' }, ...(more.topic !== undefined ? [{ p: 'topic', vt: 'str' }] : [])],
  repeat: more.repeat ?? '',
  crontab: more.crontab ?? '',
  once: more.once ?? false,
  onceDelay: more.onceDelay ?? 1,
  topic: more.topic ?? '',
  payload,
  payloadType,
});
const debug = (name, complete = 'payload') => ({
  type: 'debug',
  name,
  active: true,
  tosidebar: true,
  console: false,
  tostatus: false,
  complete,
  targetType: complete === 'true' ? 'full' : 'msg',
  statusVal: '',
  statusType: 'auto',
});
const action = (name, device, act, more = {}) => ({
  type: 'tplink-action',
  name,
  pool: POOL_ID,
  device,
  child: more.child ?? '',
  action: act,
  value: more.value ?? '',
  valueType: more.valueType ?? 'str',
  transition: more.transition ?? '',
  version: 1,
});
const state = (name, more = {}) => ({
  type: 'tplink-state',
  name,
  pool: POOL_ID,
  target: more.target ?? 'one',
  device: more.device ?? '',
  devices: more.devices ?? '',
  mode: more.mode ?? 'input',
  interval: more.interval ?? '',
  onlyChanges: more.onlyChanges ?? true,
  ...(more.changes !== undefined ? { changes: more.changes } : {}),
  version: 1,
});
const energy = (name, device, more = {}) => ({
  type: 'tplink-energy',
  name,
  pool: POOL_ID,
  device,
  child: more.child ?? '',
  mode: more.mode ?? 'realtime',
  year: more.year ?? '',
  month: more.month ?? '',
  poll: more.poll ?? false,
  interval: more.interval ?? '',
  onlyChanges: more.onlyChanges ?? false,
  version: 1,
});
const change = (name, rules) => ({ type: 'change', name, rules, action: '', property: '', from: '', to: '', reg: false });
const set = (p, to, tot = 'str') => ({ t: 'set', p, pt: 'msg', to, tot });
const move = (p, to) => ({ t: 'move', p, pt: 'msg', to, tot: 'msg' });
const func = (name, body, outputs = 1) => ({ type: 'function', name, func: body, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [] });
const sw = (name, property, rules) => ({ type: 'switch', name, property, propertyType: 'msg', rules, checkall: 'true', repair: false, outputs: rules.length });
const catchAll = (name, scope = null) => ({ type: 'catch', name, scope, uncaught: false });
const statusOf = (name, scope = null) => ({ type: 'status', name, scope });

/** An example: title, then rows of [node, col, row, wiring]. */
function example(file, rows) {
  const nodes = [];
  const byName = new Map();
  for (const [n, col, row] of rows) {
    // Node-RED places a node by its centre; a comment is as wide as its text, so it is placed by its left edge.
    const x = n.type === 'comment' ? 30 + Math.round(Math.min(900, 40 + 7.5 * n.name.length) / 2) : 150 + col * 280;
    const node = { id: id(file, n.name), z: '', ...n, x, y: 60 + row * 60, wires: [] };
    if (byName.has(n.name)) throw new Error(`${file}: two nodes named ${n.name}`);
    byName.set(n.name, node);
    nodes.push(node);
  }
  const ref = (name) => {
    const n = byName.get(name);
    if (!n) throw new Error(`${file}: no node named ${name}`);
    return n.id;
  };
  for (const [n, , , wiring] of rows) {
    const node = byName.get(n.name);
    if (node.type === 'comment' || node.type === 'debug') {
      delete node.wires;
      if (node.type === 'debug') node.wires = [];
      continue;
    }
    const outs = Array.isArray(wiring?.[0]) ? wiring : [wiring ?? []];
    node.wires = outs.map((o) => o.map(ref));
    if (node.scope) node.scope = node.scope.map(ref);
  }
  for (const n of nodes) if (n.type === 'comment') n.wires = [];
  if (nodes[0].type !== 'comment') throw new Error(`${file}: an example starts with a comment node`);
  return nodes;
}

const USE_POOL =
  'The example brings the pool **My TP-Link**: the devices of the simulated home that `npm start` runs. For your own devices, edit that one pool (double-click a TP-Link node, then the pencil beside Pool): your TP-Link account for Tapo and newer Kasa devices, Scan, tick your devices, and use their names in the nodes. Importing a second example: choose "Import copy" when Node-RED says some nodes already exist; the examples then share the pool.';

const EXAMPLES = {
  '01 - Switch a plug': [
    [
      comment(
        'Switch a plug on, off or toggle it',
        `Press the buttons. The same action node works for a Kasa plug (Desk Lamp, XOR protocol) and a Tapo plug (Coffee Maker, AES protocol): the pool picks the protocol.\n\nmsg.payload may be true/false, "on"/"off"/"toggle", or {"on": true}. The output is the plug's state after the change.\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [inject('on', 'on', 'str', { once: true, onceDelay: 2 }), 0, 1, ['Desk Lamp', 'Coffee Maker']],
    [inject('off', 'off', 'str'), 0, 2, ['Desk Lamp', 'Coffee Maker']],
    [inject('toggle', 'toggle', 'str'), 0, 3, ['Desk Lamp', 'Coffee Maker']],
    [action('Desk Lamp', 'Desk Lamp', 'payload'), 1, 1, ['Kasa plug state']],
    [action('Coffee Maker', 'Coffee Maker', 'payload'), 1, 3, ['Tapo plug state']],
    [debug('Kasa plug state'), 2, 1],
    [debug('Tapo plug state'), 2, 3],
  ],
  '02 - Switch every light in a room': [
    [
      comment(
        'Switch every light in a room at once, and report which did not answer',
        `At 09:00 (or on the button) every light in the list is switched on, in parallel through the pool. A device that does not answer goes to the Catch node, which names it. A second later the state node reads the whole list and sends a summary: allOn, anyOn, on, off and offline.\n\nEdit the list in the inject node and in the state node to match your room.\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [
      inject('09:00: lights on', '["Reading Bulb","Shelf Strip","Sofa Bulb","TV Backlight","Hall Dimmer","Dining Dimmer"]', 'json', {
        crontab: '00 09 * * *',
        once: true,
        onceDelay: 3,
      }),
      0,
      1,
      ['one message per light', 'wait 1 s'],
    ],
    [
      { type: 'split', name: 'one message per light', splt: '\\n', spltType: 'str', arraySplt: 1, arraySpltType: 'len', stream: false, addname: '' },
      1,
      1,
      ['device = name, payload = on'],
    ],
    [change('device = name, payload = on', [move('payload', 'device'), set('payload', 'on')]), 2, 1, ['switch on']],
    [action('switch on', '', 'payload'), 3, 1, []],
    [catchAll('lights that failed', ['switch on']), 0, 3, ['did not answer']],
    [change('did not answer', [set('payload', '$string(device) & ": " & error.message', 'jsonata')]), 1, 3, ['not answering']],
    [debug('not answering'), 2, 3],
    [
      {
        type: 'delay',
        name: 'wait 1 s',
        pauseType: 'delay',
        timeout: '1',
        timeoutUnits: 'seconds',
        rate: '1',
        nbRateUnits: '1',
        rateUnits: 'second',
        randomFirst: '1',
        randomLast: '5',
        randomUnits: 'seconds',
        drop: false,
        allowrate: false,
        outputs: 1,
      },
      1,
      2,
      ['read the room'],
    ],
    [
      state('read the room', { target: 'list', devices: 'Reading Bulb, Shelf Strip, Sofa Bulb, TV Backlight, Hall Dimmer, Dining Dimmer' }),
      2,
      2,
      ['summary only'],
    ],
    [sw('summary only', 'topic', [{ t: 'eq', v: 'summary', vt: 'str' }]), 3, 2, ['room summary']],
    [debug('room summary'), 4, 2],
  ],
  '03 - React to a device switched by hand': [
    [
      comment(
        'React when someone switches a device by hand',
        `The state node polls the Hall Dimmer every 2 seconds and, with "only on change", sends a message only when its state changes: switched at the wall, in the Kasa app, or by another flow. Here the Reading Bulb follows the dimmer.\n\nThe button stands in for a hand on the switch.\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [state('watch Hall Dimmer', { device: 'Hall Dimmer', mode: 'poll', interval: '2', onlyChanges: true }), 0, 1, ['on or off?']],
    [
      sw('on or off?', 'payload.on', [{ t: 'true' }, { t: 'false' }]),
      1,
      1,
      [
        ['switched on', 'bulb follows'],
        ['switched off', 'bulb follows'],
      ],
    ],
    [debug('switched on'), 2, 1],
    [debug('switched off'), 2, 2],
    [change('bulb follows', [set('payload', 'payload.on', 'msg')]), 2, 3, ['Reading Bulb']],
    [action('Reading Bulb', 'Reading Bulb', 'payload'), 3, 3, []],
    [inject('a hand on the switch', 'toggle', 'str'), 0, 4, ['Hall Dimmer']],
    [action('Hall Dimmer', 'Hall Dimmer', 'payload'), 1, 4, []],
  ],
  '04 - Log energy every minute': [
    [
      comment(
        'Log energy every minute, and read this month by day',
        `The first energy node polls the Dishwasher (Tapo P110) every 60 seconds: power, voltage, current and today's, this month's and the total energy. The function turns each reading into one CSV line; wire it to a file node to keep a log.\n\nThe button reads this month's daily history of the Fridge (Kasa HS110): {period: "day", entries: [{date, kWh}]}. Send {"period": "month", "year": 2026} to get a year by month.\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [energy('Dishwasher every 60 s', 'Dishwasher', { poll: true, interval: '60' }), 0, 1, ['power now', 'CSV line']],
    [debug('power now'), 1, 1],
    [
      func(
        'CSV line',
        "const e = msg.payload;\nmsg.payload = [new Date().toISOString(), e.powerW, e.voltageV, e.currentA, e.todayKWh].join(',');\nreturn msg;",
      ),
      1,
      2,
      ['log line'],
    ],
    [debug('log line'), 2, 2],
    [inject('this month by day', '', 'date', { once: true, onceDelay: 3 }), 0, 3, ['Fridge by day']],
    [energy('Fridge by day', 'Fridge', { mode: 'day' }), 1, 3, ['daily kWh']],
    [debug('daily kWh'), 2, 3],
  ],
  '05 - Control the outlets of a strip': [
    [
      comment(
        'Control each outlet of a power strip',
        `A child is an outlet of a strip (or a sensor of a hub), by alias, index (0 first) or id: in the node's Child field, or in msg.child. The Kasa HS300 (Media Strip) also meters each outlet. The Tapo P304M (Office Strip) works the same way.\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [inject('TV on', 'on', 'str', { once: true, onceDelay: 2 }), 0, 1, ['Media Strip: TV']],
    [action('Media Strip: TV', 'Media Strip', 'payload', { child: 'TV' }), 1, 1, ['outlet state']],
    [debug('outlet state'), 2, 1],
    [inject('toggle outlet 2', 'toggle', 'str'), 0, 2, ['child = 2']],
    [change('child = 2', [set('child', '2', 'num')]), 1, 2, ['Office Strip']],
    [action('Office Strip', 'Office Strip', 'payload'), 2, 2, ['outlet state']],
    [inject('read the strip', '', 'date', { once: true, onceDelay: 3 }), 0, 3, ['Media Strip', 'TV power']],
    [state('Media Strip', { device: 'Media Strip' }), 1, 3, ['outlets']],
    [change('outlets', [set('payload', 'payload.children', 'msg')]), 2, 3, ['every outlet']],
    [debug('every outlet'), 3, 3],
    [energy('TV power', 'Media Strip', { child: 'TV' }), 1, 4, ['TV outlet energy']],
    [debug('TV outlet energy'), 2, 4],
  ],
  '06 - Bulb brightness, colour and colour temperature': [
    [
      comment(
        'Dim a bulb, colour it, warm it, with a transition',
        `Brightness is 1-100, colour a name, "#rrggbb" or {hue, saturation}, colour temperature in kelvin. The transition (ms) fades the change where the bulb supports it. One object sets several at once: {"on": true, "brightness": 80, "colorTemp": 4000, "transition": 500}.\n\nThe Reading Bulb is a Kasa KL130 (XOR), the Sofa Bulb a Tapo L530 (KLAP).\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [inject('30 %', '', 'date', { once: true, onceDelay: 2 }), 0, 1, ['brightness 30, 1 s fade']],
    [action('brightness 30, 1 s fade', 'Reading Bulb', 'brightness', { value: '30', valueType: 'num', transition: '1000' }), 1, 1, ['bulb state']],
    [inject('red', '', 'date'), 0, 2, ['colour red']],
    [action('colour red', 'Sofa Bulb', 'color', { value: 'red' }), 1, 2, ['bulb state']],
    [inject('warm white', '', 'date'), 0, 3, ['2700 K']],
    [action('2700 K', 'Sofa Bulb', 'colorTemp', { value: '2700', valueType: 'num' }), 1, 3, ['bulb state']],
    [inject('all at once', '{"on":true,"brightness":80,"colorTemp":4000,"transition":500}', 'json'), 0, 4, ['from msg.payload']],
    [action('from msg.payload', 'Sofa Bulb', 'payload'), 1, 4, ['bulb state']],
    [debug('bulb state'), 2, 2],
  ],
  "07 - Read a hub's sensors": [
    [
      comment(
        'Read the sensors of a Tapo hub',
        `The hub's children are its sensors: temperature and humidity (T315), a door contact (T110), motion (T100), a button (S200B) and a water leak sensor (T300). The state node reads the hub every 30 seconds; the split sends one message per sensor. Read one sensor with msg.child set to its alias.\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [inject('every 30 s', '', 'date', { repeat: '30', once: true, onceDelay: 2 }), 0, 1, ['Hub']],
    [state('Hub', { device: 'Hub' }), 1, 1, ['sensors']],
    [change('sensors', [set('payload', 'payload.children', 'msg')]), 2, 1, ['one per sensor']],
    [{ type: 'split', name: 'one per sensor', splt: '\\n', spltType: 'str', arraySplt: 1, arraySpltType: 'len', stream: false, addname: '' }, 3, 1, ['sensor']],
    [debug('sensor'), 4, 1],
  ],
  '08 - Send a raw command': [
    [
      comment(
        "Send a raw command and get the device's own answer",
        `For what the normalised actions do not cover. Kasa (IOT) devices take JSON such as {"system":{"get_sysinfo":{}}}; Tapo (SMART) devices take {"method": "get_device_info"} with optional "params". The answer comes back as it is, in msg.payload. msg.payload {"raw": ...} does the same through an action node set to "from msg.payload".\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [inject('Kasa get_sysinfo', '', 'date', { once: true, onceDelay: 2 }), 0, 1, ['Desk Lamp: raw']],
    [action('Desk Lamp: raw', 'Desk Lamp', 'raw', { value: '{"system":{"get_sysinfo":{}}}', valueType: 'json' }), 1, 1, ['Kasa answer']],
    [debug('Kasa answer'), 2, 1],
    [inject('Tapo get_device_info', '{"raw":{"method":"get_device_info"}}', 'json', { once: true, onceDelay: 2 }), 0, 2, ['Dishwasher: from msg']],
    [action('Dishwasher: from msg', 'Dishwasher', 'payload'), 1, 2, ['Tapo answer']],
    [debug('Tapo answer'), 2, 2],
  ],
  '09 - Handle errors with Catch': [
    [
      comment(
        'Handle errors: every failure reaches a Catch node',
        `Every failure ends in the node's error, which a Catch node receives with msg.error.code: a stable code (EUNSUPPORTED, EBADINPUT, ENOTFOUND, EOFFLINE, ETIMEDOUT, EAUTH, ...) and a message that says what to do. The node's status turns red. A Status node sees every status change.\n\nThe buttons ask for a colour from a plug, send a payload the node cannot read, and name a device the pool does not know.\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [inject('colour on a plug', 'blue', 'str', { once: true, onceDelay: 3 }), 0, 1, ['Desk Lamp colour']],
    [action('Desk Lamp colour', 'Desk Lamp', 'color', { value: 'payload', valueType: 'msg' }), 1, 1, ['done']],
    [inject('bad payload', '{"brightness":"very"}', 'json'), 0, 2, ['Sofa Bulb']],
    [action('Sofa Bulb', 'Sofa Bulb', 'payload'), 1, 2, ['done']],
    [inject('unknown device', 'on', 'str'), 0, 3, ['Attic Fan']],
    [action('Attic Fan', 'Attic Fan', 'payload'), 1, 3, ['done']],
    [debug('done'), 2, 2],
    [catchAll('errors', ['Desk Lamp colour', 'Sofa Bulb', 'Attic Fan']), 0, 5, ['code and message']],
    [change('code and message', [set('payload', '{"code": error.code, "message": error.message, "node": error.source.name}', 'jsonata')]), 1, 5, ['error']],
    [debug('error'), 2, 5],
    [statusOf('status', ['Desk Lamp colour', 'Sofa Bulb', 'Attic Fan']), 0, 6, ['status text']],
    [debug('status text', 'status'), 1, 6],
  ],
  '10 - Hub button and sensor events': [
    [
      comment(
        'React to hub events: button clicks, dial rotation, motion, door, water leak',
        `A state node in mode "hub child events" watches the trigger logs of a Tapo hub's children and sends one message per event, each once (also after a redeploy): msg.payload = {event, degrees, child, at}, with event "single_click", "double_click", "rotation" (degrees: negative = anticlockwise), "motion", "open", "close", "water_leak", ... It polls every second just after an event and every "Every" seconds while idle. The switch sends clicks and rotations its own way.\n\nIn the simulated home, the two buttons press the simulated S200B through the simulator's own control method sim_trigger_event (a real hub has no such method: press the real button instead).\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [{ ...state('Hub events', { device: 'Hub', mode: 'events', interval: '5' }), child: '' }, 0, 1, ['by event']],
    [
      sw('by event', 'payload.event', [{ t: 'eq', v: 'single_click', vt: 'str' }, { t: 'eq', v: 'rotation', vt: 'str' }, { t: 'else' }]),
      1,
      1,
      [['button event'], ['button event'], ['other event']],
    ],
    [debug('button event'), 2, 1],
    [debug('other event'), 2, 2],
    [
      inject('press the sofa button', '{"raw":{"method":"sim_trigger_event","params":{"event":"singleClick"}}}', 'json', { once: true, onceDelay: 4 }),
      0,
      3,
      ['Sofa Button (simulated)'],
    ],
    [
      inject('turn the dial 30°', '{"raw":{"method":"sim_trigger_event","params":{"event":"rotation","degrees":30}}}', 'json', { once: true, onceDelay: 5 }),
      0,
      4,
      ['Sofa Button (simulated)'],
    ],
    [action('Sofa Button (simulated)', 'Hub', 'payload', { child: 'Sofa Button' }), 1, 3],
  ],
  '11 - Power history as CSV': [
    [
      comment(
        'Power every 5 minutes and energy by hour, as CSV',
        `An energy node in mode "power history" reads the Dishwasher's (Tapo P110) mean power of each 5-minute step over the last 2 hours: {intervalMin: 5, entries: [{at, powerW}]}, "at" an ISO time. The function turns it into CSV text (header, then one line per step); wire it to a file node to keep it, or to a chart. The second button reads energy by hour ({period: "hour", entries: [{at, kWh}]}) for the last 24 hours. Send {"start": "2026-05-01T00:00:00Z", "end": ...} to choose the range.\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [inject('last 2 hours', '', 'date', { once: true, onceDelay: 2 }), 0, 1, ['Dishwasher power']],
    [{ ...energy('Dishwasher power', 'Dishwasher', { mode: 'power' }), rangeHours: '2', step: '5' }, 1, 1, ['CSV']],
    [inject('energy by hour', '{"period":"hour"}', 'json', { once: true, onceDelay: 2 }), 0, 2, ['Dishwasher power']],
    [
      func(
        'CSV',
        "const h = msg.payload;\nconst unit = h.intervalMin ? 'powerW' : 'kWh';\nmsg.payload = ['at,' + unit, ...h.entries.map((e) => e.at + ',' + e[unit])].join('\\n');\nreturn msg;",
      ),
      2,
      1,
      ['power CSV'],
    ],
    [debug('power CSV'), 3, 1],
  ],
  '12 - Firmware updates and protocol changes': [
    [
      comment(
        'Keep firmware updates in hand: automatic updates off, and a message when a device changes',
        `A firmware update can change how a device talks (a new login, Third-Party Compatibility switched off), so many users switch automatic updates off and update by hand from the app when they choose.\n\nThe action node reads the Dishwasher's (Tapo P110) setting with msg.payload "autoUpdate" and switches it with {"autoUpdate": false}: msg.payload = {autoUpdate, time, randomMinutes}, time being the start of the device's nightly update window. Kasa devices have no such setting (EUNSUPPORTED).\n\nThe state node polls the Dishwasher with "also send protocol and firmware changes" ticked: besides its state, it sends msg.topic "firmware-changed" or "protocol-changed" with msg.payload {host, from, to} when the pool sees the device come back with other firmware or on another protocol (the pool re-detects it by itself).\n\n${USE_POOL}`,
      ),
      0,
      0,
    ],
    [inject('read the setting', 'autoUpdate', 'str', { once: true, onceDelay: 2 }), 0, 1, ['Dishwasher auto-update']],
    [inject('switch it off', '{"autoUpdate":false}', 'json'), 0, 2, ['Dishwasher auto-update']],
    [action('Dishwasher auto-update', 'Dishwasher', 'payload'), 1, 1, ['auto-update setting']],
    [debug('auto-update setting'), 2, 1],
    [state('watch the Dishwasher', { device: 'Dishwasher', mode: 'poll', interval: '60', onlyChanges: true, changes: true }), 0, 3, ['changes only']],
    [
      sw('changes only', 'topic', [
        { t: 'eq', v: 'firmware-changed', vt: 'str' },
        { t: 'eq', v: 'protocol-changed', vt: 'str' },
      ]),
      1,
      3,
      [['firmware changed'], ['protocol changed']],
    ],
    [debug('firmware changed'), 2, 3],
    [debug('protocol changed'), 2, 4],
  ],
};

function buildAll(devices = homeDeviceList()) {
  const out = {};
  for (const [file, rows] of Object.entries(EXAMPLES)) out[file] = [...example(file, rows), examplePool(devices)];
  return out;
}

if (require.main === module) {
  const dir = path.join(__dirname, '..', 'examples');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.json')) fs.unlinkSync(path.join(dir, f));
  for (const [file, nodes] of Object.entries(buildAll())) fs.writeFileSync(path.join(dir, `${file}.json`), JSON.stringify(nodes, null, 2) + '\n');
  console.log(`wrote ${Object.keys(EXAMPLES).length} examples to examples/`);
}

module.exports = { POOL_ID, POOL_NAME, HOME_BASE, buildAll, homeDeviceList, isSupportedProfile };
