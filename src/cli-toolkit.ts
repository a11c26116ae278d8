/**
 * The CLI's toolkit commands (kept apart from cli.ts): `tddp`, `cloud`, `wifi` and `decode`.
 * cli.ts parses the shared options and hands the extra ones over in `extra`.
 */
import * as fs from 'node:fs';
import { cloudLogin, DEFAULT_CLOUD_URL, isLoopbackHostname } from './cloud';
import { decodeCaptureFile, writeDecoded } from './decode';
import { KasaTapoError, clip } from './errors';
import { TDDP_READ_SUBTYPES, tddp } from './tddp';
import type { Credentials, DeviceApi } from './types';
import { wifiJoin, wifiScan } from './device/wifi';

/** Options of the toolkit commands: name → takes a value. */
export const TOOLKIT_OPTIONS: Readonly<Record<string, boolean>> = {
  '--subtype': true,
  '--type': true,
  '--reply-port': true,
  '--force': false,
  '--cloud-url': true,
  '--insecure': false,
  '--device': true,
  '--wifi-password': true,
  '--keytype': true,
  '--username': true,
  '--password': true,
};

export const TOOLKIT_COMMANDS: ReadonlySet<string> = new Set(['tddp', 'cloud', 'wifi', 'decode']);

export const TOOLKIT_USAGE = `  kasa-tapo tddp --host HOST [--subtype 0A] [--type 03] [--username U --password P] [--port 1040] [--reply-port 61000]
  kasa-tapo cloud devices [--cloud-url URL [--insecure]]
  kasa-tapo cloud --device ID COMMAND|raw JSON [--cloud-url URL [--insecure]]
  kasa-tapo --host HOST wifi scan
  kasa-tapo --host HOST wifi join SSID --wifi-password P [--keytype 0-3]
  kasa-tapo decode capture.pcap [--username U --password P] [--json]`;

export interface ToolkitArgs {
  command?: string;
  rest: string[];
  host?: string;
  port?: number;
  timeoutMs: number;
  json: boolean;
  extra: Record<string, string>;
}

export interface ToolkitContext {
  /** Account from the environment or the config file. */
  credentials?: Credentials;
  /** Connect to --host as the device commands do. */
  open(): Promise<DeviceApi>;
  /** softScheck presets: name → IOT command. */
  presets: Record<string, { iot: unknown }>;
}

// Text for the terminal. Output quotes strings that devices, the cloud or a capture control
// (aliases, SSIDs, models, decoded traffic, error messages); a control character there could
// retitle the window (ESC ]0;…BEL), clear the screen (ESC [2J) or hide what follows, so every
// line is printed with such characters made visible. cli.ts uses these too.

/**
 * A line of human-readable output with control characters (C0, C1, DEL, line and paragraph
 * separators, bidi overrides) escaped as `\n`, `\r`, `\t` or `\uXXXX` (clip() in errors.ts, not
 * cut). Never throws.
 */
export function terminalText(line: string): string {
  return clip(line, Number.MAX_SAFE_INTEGER);
}

// JSON.stringify escapes C0 but leaves these raw; inside a JSON string `\uXXXX` is the same value.
const JSON_RAW = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text (from JSON.stringify) with the characters JSON.stringify leaves raw (DEL, C1, line and
 * paragraph separators, bidi overrides) written as `\uXXXX`: the same JSON value, safe to print.
 * Never throws.
 */
export function terminalJson(json: string): string {
  return json.replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line of text; strings from devices, the cloud or a capture in it are printed with control characters escaped. */
const write = (s: string): void => void process.stdout.write(terminalText(s) + '\n');
/** JSON text (from JSON.stringify), with what JSON leaves raw (DEL, C1) escaped too. */
const writeJson = (s: string): void => void process.stdout.write(terminalJson(s) + '\n');

function hexByte(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = /^(0x)?[0-9a-f]{1,2}$/i.test(v) ? parseInt(v.replace(/^0x/i, ''), 16) : NaN;
  if (!Number.isInteger(n)) throw new KasaTapoError('EBADINPUT', `${name} must be a hex byte such as 0A`);
  return n;
}

/** The account for decode/cloud: --username/--password first, then the environment or config. */
function account(a: ToolkitArgs, ctx: ToolkitContext): Credentials | undefined {
  const u = a.extra['--username'] ?? ctx.credentials?.username;
  const p = a.extra['--password'] ?? ctx.credentials?.password;
  return u !== undefined || p !== undefined ? { username: u ?? '', password: p ?? '' } : undefined;
}

async function runTddp(a: ToolkitArgs): Promise<void> {
  if (!a.host) throw new KasaTapoError('EBADINPUT', 'tddp needs --host');
  const subtype = hexByte(a.extra['--subtype'], '--subtype', 0x0a);
  const type = hexByte(a.extra['--type'], '--type', 0x03);
  if (type === 0x03 && !TDDP_READ_SUBTYPES.includes(subtype) && !('--force' in a.extra)) {
    throw new KasaTapoError(
      'EBADINPUT',
      `Subtype ${subtype.toString(16).padStart(2, '0')} may change the device (its MAC or ids); only 0A, 12 and 14 are known to just read. Add --force to send it anyway`,
    );
  }
  const rp = a.extra['--reply-port'];
  const replyPort = rp === undefined ? undefined : Number(rp);
  if (replyPort !== undefined && (!Number.isInteger(replyPort) || replyPort < 0 || replyPort > 65535))
    throw new KasaTapoError('EBADINPUT', '--reply-port must be 0-65535');
  const r = await tddp({
    host: a.host,
    type,
    subtype,
    timeoutMs: a.timeoutMs,
    ...(a.port !== undefined ? { port: a.port } : {}),
    ...(replyPort !== undefined ? { replyPort } : {}),
    ...(a.extra['--username'] !== undefined ? { username: a.extra['--username'] } : {}),
    ...(a.extra['--password'] !== undefined ? { password: a.extra['--password'] } : {}),
  });
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  if (a.json)
    return writeJson(
      JSON.stringify(
        { type: r.type, subtype: r.subtype, packetId: r.packetId, ...(r.text !== undefined ? { text: r.text } : {}), hex: r.data.toString('hex') },
        null,
        2,
      ),
    );
  write(
    r.text !== undefined
      ? `type ${hex(r.type)} subtype ${hex(r.subtype)}: ${r.text}`
      : `type ${hex(r.type)} subtype ${hex(r.subtype)}: ${r.data.toString('hex')} (not text: check the device account, --username/--password; default admin/admin)`,
  );
}

async function runCloud(a: ToolkitArgs, ctx: ToolkitContext): Promise<void> {
  const creds = account(a, ctx);
  if (!creds || !creds.username || !creds.password)
    throw new KasaTapoError('EBADINPUT', 'The cloud needs the TP-Link account: KASA_TAPO_USERNAME / KASA_TAPO_PASSWORD or the config file');
  const baseUrl = a.extra['--cloud-url'] ?? (process.env['KASA_TAPO_CLOUD_URL'] || DEFAULT_CLOUD_URL);
  // Plain HTTP off loopback is refused by cloudLogin (EBADINPUT) unless --insecure, which says so here.
  const insecure = '--insecure' in a.extra;
  if (insecure) {
    let u: URL | undefined;
    try {
      u = new URL(baseUrl);
    } catch {
      /* cloudLogin says why */
    }
    if (u?.protocol === 'http:' && !isLoopbackHostname(u.hostname))
      process.stderr.write(
        terminalText(`kasa-tapo: warning: --insecure: the TP-Link account's password goes to ${u.host} over plain HTTP, readable on the way`) + '\n',
      );
  }
  // --timeout is a deadline for each cloud request as a whole.
  const session = await cloudLogin({ username: creds.username, password: creds.password, baseUrl, timeoutMs: a.timeoutMs, insecure });
  const deviceId = a.extra['--device'];
  if (deviceId === undefined) {
    if (a.rest[0] !== undefined && a.rest[0] !== 'devices')
      throw new KasaTapoError('EBADINPUT', 'Use `kasa-tapo cloud devices` or `kasa-tapo cloud --device ID COMMAND`');
    const list = await session.devices();
    if (a.json)
      return writeJson(
        JSON.stringify(
          list.map(({ raw: _raw, ...d }) => d),
          null,
          2,
        ),
      );
    if (!list.length) return write('No devices in this account.');
    for (const d of list)
      write(
        `${d.deviceId}  ${String(d.model ?? '?').padEnd(12)} ${String(d.alias ?? '').padEnd(20)} ${d.status === 1 ? 'online ' : 'offline'} ${d.deviceType ?? ''}`,
      );
    return;
  }
  const cmd = a.rest[0];
  if (cmd === undefined) throw new KasaTapoError('EBADINPUT', 'cloud --device ID needs a command, e.g. info, on, off or raw \'{"system":{"get_sysinfo":{}}}\'');
  let request: unknown;
  if (cmd === 'raw' || cmd.startsWith('{')) {
    const text = cmd === 'raw' ? a.rest[1] : cmd;
    try {
      request = JSON.parse(text ?? '');
    } catch {
      throw new KasaTapoError('EBADINPUT', 'raw needs valid JSON');
    }
  } else {
    const preset = ctx.presets[cmd];
    if (!preset) throw new KasaTapoError('EBADINPUT', `Unknown command "${cmd}" (a preset name such as info, on, off, or raw JSON)`);
    request = preset.iot;
  }
  writeJson(String(JSON.stringify(await session.passthrough(deviceId, request), null, a.json ? 2 : 0)));
}

async function runWifi(a: ToolkitArgs, ctx: ToolkitContext): Promise<void> {
  if (!a.host) throw new KasaTapoError('EBADINPUT', 'wifi needs --host');
  const sub = a.rest[0];
  if (sub !== 'scan' && sub !== 'join') throw new KasaTapoError('EBADINPUT', 'Use `wifi scan` or `wifi join SSID --wifi-password P [--keytype N]`');
  let keyType: number | undefined;
  if (sub === 'join') {
    if (!a.rest[1]) throw new KasaTapoError('EBADINPUT', 'wifi join needs the SSID');
    if (a.extra['--wifi-password'] === undefined)
      throw new KasaTapoError('EBADINPUT', 'wifi join needs --wifi-password (use "" for an open network with --keytype 0)');
    if (a.extra['--keytype'] !== undefined) {
      keyType = Number(a.extra['--keytype']);
      if (!Number.isInteger(keyType) || keyType < 0 || keyType > 4)
        throw new KasaTapoError('EBADINPUT', '--keytype must be 0 (none), 1 (WEP), 2 (WPA), 3 (WPA2) or 4 (WPA3)');
    }
  }
  const dev = await ctx.open();
  try {
    if (sub === 'scan') {
      const list = await wifiScan(dev);
      if (a.json) return writeJson(JSON.stringify(list, null, 2));
      if (!list.length) return write('The device sees no networks.');
      for (const n of list)
        write(
          `${n.ssid.padEnd(32)} ${String(n.keyTypeName ?? n.keyType ?? '?').padEnd(9)} ${n.rssi !== undefined ? `${n.rssi} dBm` : n.signalLevel !== undefined ? `${n.signalLevel}/3` : ''}`,
        );
      return;
    }
    const r = await wifiJoin(dev, a.rest[1]!, a.extra['--wifi-password']!, keyType);
    if (a.json) return writeJson(JSON.stringify(r, null, 2));
    write(
      r.confirmed
        ? `The device accepted the network "${r.ssid}"; it is moving to it now and will get a new address there.`
        : `Sent; the device left before answering, which is normal when it switches to "${r.ssid}".`,
    );
  } finally {
    await dev.close();
  }
}

const MAX_CAPTURE = 512 << 20;

function runDecode(a: ToolkitArgs, ctx: ToolkitContext): void {
  const file = a.rest[0];
  if (!file) throw new KasaTapoError('EBADINPUT', 'decode needs a capture file: kasa-tapo decode capture.pcap');
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    throw new KasaTapoError('EBADINPUT', `Cannot read ${file}`);
  }
  if (size > MAX_CAPTURE) throw new KasaTapoError('ETOOBIG', `${file} is larger than ${MAX_CAPTURE >> 20} MB; cut it with editcap first`);
  const creds = account(a, ctx);
  // Read a window at a time and within decode's memory budget (ETOOBIG early); printed line by line.
  const result = decodeCaptureFile(file, creds ? { credentials: creds } : {});
  writeDecoded(result, a.json ? writeJson : write, { json: a.json });
}

/** Run one toolkit command. Throws KasaTapoError (printed by cli.ts as one line). */
export async function runToolkit(a: ToolkitArgs, ctx: ToolkitContext): Promise<void> {
  switch (a.command) {
    case 'tddp':
      return runTddp(a);
    case 'cloud':
      return runCloud(a, ctx);
    case 'wifi':
      return runWifi(a, ctx);
    case 'decode':
      return runDecode(a, ctx);
    default:
      throw new KasaTapoError('EBADINPUT', `Unknown command "${a.command}"`);
  }
}
