#!/usr/bin/env node
/**
 * kasa-tapo — discover, read and switch Kasa and Tapo devices from a terminal, and run the
 * simulated home. Exit code 0 only on success; one clear line on stderr on failure.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discover } from './discovery';
import { connect } from './connect';
import { findChild } from './device/children';
import { KasaTapoError, isKasaTapoError } from './errors';
import { energyText, quietOnClosedPipe } from './cli-format';
import { TOOLKIT_COMMANDS, TOOLKIT_OPTIONS, TOOLKIT_USAGE, runToolkit, terminalJson, terminalText } from './cli-toolkit';
import type { ChildState, Credentials, DeviceApi, DeviceState, TransportChoice } from './types';

/** softScheck's preset names: IOT commands, and the SMART method that does the same where one exists. */
export const PRESETS: Record<string, { iot: unknown; smart?: { method: string; params?: unknown } }> = {
  info: { iot: { system: { get_sysinfo: {} } }, smart: { method: 'get_device_info' } },
  on: { iot: { system: { set_relay_state: { state: 1 } } }, smart: { method: 'set_device_info', params: { device_on: true } } },
  off: { iot: { system: { set_relay_state: { state: 0 } } }, smart: { method: 'set_device_info', params: { device_on: false } } },
  time: { iot: { time: { get_time: {} } }, smart: { method: 'get_device_time' } },
  schedule: { iot: { schedule: { get_rules: {} } }, smart: { method: 'get_schedule_rules', params: { start_index: 0 } } },
  countdown: { iot: { count_down: { get_rules: {} } }, smart: { method: 'get_countdown_rules', params: {} } },
  antitheft: { iot: { anti_theft: { get_rules: {} } } },
  cloudinfo: { iot: { cnCloud: { get_info: {} } }, smart: { method: 'get_connect_cloud_state' } },
  wlanscan: { iot: { netif: { get_scaninfo: { refresh: 0 } } }, smart: { method: 'get_wireless_scan_info', params: { start_index: 0 } } },
  energy: { iot: { emeter: { get_realtime: {} } }, smart: { method: 'get_energy_usage' } },
  energy_reset: { iot: { emeter: { erase_emeter_stat: {} } } },
  runtime_reset: { iot: { schedule: { erase_runtime_stat: {} } } },
  ledon: { iot: { system: { set_led_off: { off: 0 } } }, smart: { method: 'set_led_info', params: { led_rule: 'always' } } },
  ledoff: { iot: { system: { set_led_off: { off: 1 } } }, smart: { method: 'set_led_info', params: { led_rule: 'never' } } },
  reboot: { iot: { system: { reboot: { delay: 1 } } }, smart: { method: 'device_reboot', params: { delay: 1 } } },
  reset: { iot: { system: { reset: { delay: 1 } } }, smart: { method: 'device_reset' } },
};

interface Args {
  command?: string;
  rest: string[];
  host?: string;
  port?: number;
  transport: TransportChoice;
  /** --transport aes-v1: AES with the old login v1. */
  loginVersion?: 1;
  timeoutMs: number;
  json: boolean;
  verbose: boolean;
  broadcast?: string;
  config?: string;
  child?: string;
  base?: string;
  ephemeral: boolean;
  /** Options of the toolkit commands (cli-toolkit.ts). */
  extra: Record<string, string>;
}

const USAGE = `Usage:
  kasa-tapo discover [--broadcast ADDR] [--timeout MS] [--json]
  kasa-tapo --host HOST [--port P] [--transport auto|xor|klap|klap-v1|aes|aes-v1|tpap] [--child N] COMMAND
  kasa-tapo simulate [--base 127.0.X] [--ephemeral]
${TOOLKIT_USAGE}

Commands: info, state, on, off, toggle, energy, off-in MIN, on-in MIN, countdown-clear, lock, unlock, autoupdate [on|off],
  raw JSON, and the presets
  ${Object.keys(PRESETS).join(', ')}
  (info/on/off/energy/state/toggle print the normalised form; use --json for JSON; presets other
  than those send the device's own command and print its answer)
Options: --json  --verbose (decrypted requests and answers on stderr)  --timeout MS  --config FILE
Credentials: KASA_TAPO_USERNAME / KASA_TAPO_PASSWORD, or "username"/"password" in the config file
  (default ~/.kasa-tapo.json), which may also hold "devices": {"alias": {"host": "...", "port": N}}
  and "commands": {"name": <raw JSON>}; --host accepts an alias from it.
AES: the host you name may get an AES login (it shows the device the password's hash); aes-v1 is the
  old login v1 (the password itself), only for old firmware that needs it.`;

function parseArgs(argv: string[]): Args {
  const a: Args = { rest: [], transport: 'auto', timeoutMs: 5000, json: false, verbose: false, ephemeral: false, extra: {} };
  const need = (i: number, name: string): string => {
    const v = argv[i];
    if (v === undefined) throw new KasaTapoError('EBADINPUT', `${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    switch (t) {
      case '--host':
      case '-h':
        a.host = need(++i, t);
        break;
      case '--port':
      case '-p':
        a.port = Number(need(++i, t));
        if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new KasaTapoError('EBADINPUT', '--port must be 1-65535');
        break;
      case '--transport':
        a.transport = need(++i, t) as TransportChoice;
        if ((a.transport as string) === 'aes-v1') [a.transport, a.loginVersion] = ['aes', 1];
        if (!['auto', 'xor', 'klap', 'klap-v1', 'aes', 'tpap'].includes(a.transport)) {
          throw new KasaTapoError('EBADINPUT', '--transport must be auto, xor, klap, klap-v1, aes, aes-v1 or tpap');
        }
        break;
      case '--timeout':
        a.timeoutMs = Number(need(++i, t));
        if (!(a.timeoutMs > 0)) throw new KasaTapoError('EBADINPUT', '--timeout must be a positive number of ms');
        break;
      case '--broadcast':
        a.broadcast = need(++i, t);
        break;
      case '--config':
        a.config = need(++i, t);
        break;
      case '--child':
        a.child = need(++i, t);
        break;
      case '--base':
        a.base = need(++i, t);
        break;
      case '--ephemeral':
        a.ephemeral = true;
        break;
      case '--json':
        a.json = true;
        break;
      case '--verbose':
      case '-v':
        a.verbose = true;
        break;
      case '--help':
        a.command = 'help';
        break;
      default:
        if (Object.prototype.hasOwnProperty.call(TOOLKIT_OPTIONS, t)) {
          a.extra[t] = TOOLKIT_OPTIONS[t] ? need(++i, t) : '';
          break;
        }
        if (t.startsWith('--')) throw new KasaTapoError('EBADINPUT', `Unknown option ${t}`);
        if (a.command === undefined) a.command = t;
        else a.rest.push(t);
    }
  }
  return a;
}

interface ConfigFile {
  username?: string;
  password?: string;
  devices?: Record<string, { host: string; port?: number; transport?: TransportChoice }>;
  commands?: Record<string, unknown>;
}

function loadConfig(file: string | undefined): ConfigFile {
  const p = file ?? path.join(os.homedir(), '.kasa-tapo.json');
  if (!fs.existsSync(p)) {
    if (file) throw new KasaTapoError('EBADINPUT', `Config file ${file} not found`);
    return {};
  }
  try {
    const v = JSON.parse(fs.readFileSync(p, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    throw new KasaTapoError('EBADINPUT', `Config file ${p} is not valid JSON: ${(e as Error).message}`);
  }
}

function credentialsFrom(cfg: ConfigFile): Credentials | undefined {
  const username = process.env.KASA_TAPO_USERNAME ?? cfg.username;
  const password = process.env.KASA_TAPO_PASSWORD ?? cfg.password;
  return username !== undefined || password !== undefined ? { username: username ?? '', password: password ?? '' } : undefined;
}

/** Print a result: JSON (--json, or no text form), else the text; device strings in either cannot reach the terminal raw. */
function out(a: Args, value: unknown, text?: string): void {
  process.stdout.write((a.json || text === undefined ? terminalJson(String(JSON.stringify(value, null, a.json ? 2 : 0))) : terminalText(text)) + '\n');
}

const onText = (on: boolean | undefined): string => (on === undefined ? '-' : on ? 'on' : 'off');

/** The child --child names (index, id or alias, as the library resolves it). Throws KasaTapoError ENOTFOUND. */
function pickChild(s: DeviceState, ref: string | number): ChildState {
  const c = findChild(s, ref);
  if (!c) throw new KasaTapoError('ENOTFOUND', `${s.alias ?? s.host} has no child ${JSON.stringify(ref)}`);
  return c;
}

function parseRaw(text: string | undefined): unknown {
  if (!text) throw new KasaTapoError('EBADINPUT', 'raw needs a JSON argument, e.g. raw \'{"system":{"get_sysinfo":{}}}\'');
  try {
    return JSON.parse(text);
  } catch {
    throw new KasaTapoError('EBADINPUT', 'raw needs valid JSON');
  }
}

/** Connect to --host (an alias from the config file, or an address) as every device command does. */
async function openDevice(a: Args, cfg: ConfigFile): Promise<DeviceApi> {
  const alias = a.host && cfg.devices?.[a.host];
  const host = alias ? alias.host : a.host!;
  const port = a.port ?? (alias ? alias.port : undefined);
  const transport = a.transport !== 'auto' ? a.transport : (alias && alias.transport) || 'auto';
  const creds = credentialsFrom(cfg);
  const trace = a.verbose
    ? (dir: 'request' | 'response', text: string) => process.stderr.write(`${dir === 'request' ? '>>' : '<<'} ${terminalText(text)}\n`)
    : undefined;
  return connect({
    host,
    transport,
    // The host was named on the command line (or in the user's own config file): the user's choice.
    allowAesLogin: true,
    ...(a.loginVersion ? { loginVersion: a.loginVersion } : {}),
    timeoutMs: a.timeoutMs,
    ...(port !== undefined ? { port } : {}),
    ...(creds ? { credentials: creds } : {}),
    ...(trace ? { trace } : {}),
  });
}

async function runDevice(a: Args, cfg: ConfigFile): Promise<void> {
  const host = a.host!;
  const dev = await openDevice(a, cfg);
  try {
    const cmd = a.command!;
    const child = a.child === undefined ? undefined : /^\d+$/.test(a.child) ? Number(a.child) : a.child;
    const smart = ['klap', 'aes', 'tpap'].includes(dev.info()?.protocol ?? '');
    switch (cmd) {
      case 'info':
      case 'state': {
        const s = await dev.getState();
        if (child !== undefined) {
          const c = pickChild(s, child);
          return out(a, c, `${c.alias ?? c.id} (${c.model ?? s.model ?? '?'} ${c.kind ?? c.family ?? 'child'} of ${s.alias ?? host}) is ${onText(c.on)}`);
        }
        return out(a, s, `${s.alias ?? host} (${s.model ?? '?'}, ${s.family}, ${s.protocol}) is ${onText(s.on)}`);
      }
      case 'on':
      case 'off':
      case 'toggle': {
        const s = cmd === 'toggle' ? await dev.toggle(child) : await dev.setState({ on: cmd === 'on' }, child);
        const c = child === undefined ? undefined : pickChild(s, child);
        const on = (c ?? s).on;
        const name = c ? `${c.alias ?? String(child)} (${s.alias ?? host})` : (s.alias ?? host);
        return out(a, s, `${name} switched ${on ? 'on' : 'off'}`);
      }
      case 'reboot':
        await dev.reboot();
        return out(a, { rebooting: true }, `${host} is rebooting`);
      case 'energy': {
        const e = await dev.getEnergy(child);
        return out(a, e, energyText(e));
      }
      case 'off-in':
      case 'on-in':
      case 'countdown-clear': {
        // "off in 10 minutes" (src/device/countdown.ts)
        const d = dev as DeviceApi & Required<Pick<DeviceApi, 'setCountdown' | 'clearCountdown'>>;
        const minutes = Number(a.rest[0]);
        if (cmd !== 'countdown-clear' && !(minutes > 0)) throw new KasaTapoError('EBADINPUT', `${cmd} needs minutes, e.g. kasa-tapo --host HOST ${cmd} 10`);
        const c = cmd === 'countdown-clear' ? await d.clearCountdown(child) : await d.setCountdown({ on: cmd === 'on-in', minutes }, child);
        const who = child === undefined ? (dev.info()?.alias ?? host) : `${String(child)} (${dev.info()?.alias ?? host})`;
        return out(a, c, c.active ? `${who} switches ${c.on ? 'on' : 'off'} in ${Math.ceil((c.remainS ?? c.delayS ?? 0) / 60)} min` : `${who}: no countdown`);
      }
      case 'lock':
      case 'unlock': {
        // child lock (src/device/childlock.ts)
        const d = dev as DeviceApi & Required<Pick<DeviceApi, 'setChildLock'>>;
        const r = await d.setChildLock(cmd === 'lock', child);
        return out(a, r, `${child === undefined ? (dev.info()?.alias ?? host) : String(child)}: child lock ${r.childLock ? 'on' : 'off'}`);
      }
      case 'autoupdate': {
        // automatic firmware updates (src/device/autoupdate.ts): no argument reads, on/off sets
        const d = dev as DeviceApi & Required<Pick<DeviceApi, 'getAutoUpdate' | 'setAutoUpdate'>>;
        const v = a.rest[0]?.toLowerCase();
        if (v !== undefined && v !== 'on' && v !== 'off') throw new KasaTapoError('EBADINPUT', 'autoupdate takes on, off or nothing (to read it)');
        const r = v === undefined ? await d.getAutoUpdate() : await d.setAutoUpdate(v === 'on');
        const when = r.time !== undefined ? ` (window ${r.time}${r.randomMinutes !== undefined ? ` + up to ${r.randomMinutes} min` : ''})` : '';
        return out(a, r, `${dev.info()?.alias ?? host}: automatic firmware updates ${r.autoUpdate ? 'on' : 'off'}${when}`);
      }
      case 'raw':
        return out(a, await dev.raw(parseRaw(a.rest[0]), child));
      default: {
        const named = cfg.commands?.[cmd];
        if (named !== undefined) return out(a, await dev.raw(named, child));
        const preset = PRESETS[cmd];
        if (!preset) throw new KasaTapoError('EBADINPUT', `Unknown command "${cmd}" (see kasa-tapo --help)`);
        const req = smart ? preset.smart : preset.iot;
        if (!req) throw new KasaTapoError('EUNSUPPORTED', `"${cmd}" has no equivalent on ${dev.info()?.model ?? 'this device'}`);
        return out(a, await dev.raw(req, child));
      }
    }
  } finally {
    await dev.close();
  }
}

async function runDiscover(a: Args): Promise<void> {
  const found = await discover({ timeoutMs: a.timeoutMs === 5000 ? 3000 : a.timeoutMs, ...(a.broadcast ? { broadcast: a.broadcast } : {}) });
  if (a.json)
    return out(
      a,
      found.map(({ raw: _raw, ...rest }) => rest),
    );
  if (found.length === 0) {
    process.stdout.write('No devices answered.\n');
    return;
  }
  const row = (host: string, model: string, alias: string, mac: string, what: string): string =>
    `${host.padEnd(15)} ${model.padEnd(10)} ${alias.padEnd(20)} ${mac.padEnd(17)} ${what}`;
  process.stdout.write(row('HOST', 'MODEL', 'ALIAS', 'MAC', 'TRANSPORT') + '\n');
  for (const d of found) {
    const what = d.supported ? (d.transport ?? '') : `unsupported: ${d.reason ?? ''}`;
    process.stdout.write(terminalText(row(d.host, String(d.model ?? '?'), String(d.alias ?? ''), d.mac ?? '', what)) + '\n');
  }
}

async function runSimulate(a: Args): Promise<void> {
  const { startSimulatedHome } = await import('./simulator');
  const own = credentialsFrom({});
  const creds = own ?? { username: 'demo@example.com', password: 'demo-password' };
  const home = await startSimulatedHome({
    credentials: creds,
    ...(a.base ? { baseAddress: a.base } : {}),
    standardPorts: !a.ephemeral,
    cloud: true,
  });
  for (const d of home.devices) {
    process.stdout.write(
      terminalText(`${`${d.host}:${d.port}`.padEnd(22)} ${d.profile.model.padEnd(10)} ${d.transport.padEnd(8)} ${d.profile.alias ?? d.profile.id}`) + '\n',
    );
  }
  for (const d of home.devices)
    if (d.tddp) process.stdout.write(`${`${d.tddp.host}:${d.tddp.port}`.padEnd(22)} TDDP (${d.profile.model}, UDP, account admin/admin)\n`);
  if (home.cloud) process.stdout.write(`Simulated TP-Link cloud: ${home.cloud.url} (use --cloud-url or KASA_TAPO_CLOUD_URL)\n`);
  // The public demo account is printed; a password the user set (KASA_TAPO_PASSWORD) never is.
  const pw = own ? (process.env.KASA_TAPO_PASSWORD !== undefined ? 'the password in KASA_TAPO_PASSWORD' : 'no password') : creds.password;
  process.stdout.write(`Simulated home running (credentials ${creds.username || '(no e-mail)'} / ${pw}). Ctrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await home.close();
}

/** Run the CLI with argv (without node and script). Resolves to the exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  try {
    const a = parseArgs(argv);
    if (!a.command || a.command === 'help') {
      process.stdout.write(USAGE + '\n');
      return a.command === 'help' ? 0 : 2;
    }
    const stray = TOOLKIT_COMMANDS.has(a.command) ? undefined : Object.keys(a.extra)[0];
    if (stray) throw new KasaTapoError('EBADINPUT', `${stray} is an option of tddp, cloud, wifi and decode only`);
    if (a.command === 'discover') await runDiscover(a);
    else if (a.command === 'simulate') await runSimulate(a);
    else if (TOOLKIT_COMMANDS.has(a.command)) {
      const cfg = loadConfig(a.config);
      const creds = credentialsFrom(cfg);
      await runToolkit(a, { ...(creds ? { credentials: creds } : {}), open: () => openDevice(a, cfg), presets: PRESETS });
    } else {
      if (!a.host) throw new KasaTapoError('EBADINPUT', `"${a.command}" needs --host`);
      await runDevice(a, loadConfig(a.config));
    }
    return 0;
  } catch (e) {
    const msg = isKasaTapoError(e) ? `${e.code}: ${e.message}` : `Error: ${(e as Error)?.message ?? String(e)}`;
    process.stderr.write(`kasa-tapo: ${terminalText(msg)}\n`);
    return 1;
  }
}

if (require.main === module) {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
