/**
 * Status texts, one look for every node (green dot on/online, grey off, yellow connecting, red
 * ring errors), and the nodes' own error messages. Every text is an i18n key under
 * `tplink-pool.status` / `tplink-pool.errors` in the package's message
 * catalogue (nodes/locales/<lang>/tplink-pool.json), translated in the runtime's language through
 * RED._ (handed in once by `useTranslator`); where RED._ does not know the key (a test harness),
 * the English catalogue shipped beside the nodes is used.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clip, clockTime, type DeviceState } from '../../src/index';
import type { DeviceStatus } from '../../src/pool';
import type { NodeStatus } from './red';

const NS = 'node-red-contrib-kasa-tapo/tplink-pool:tplink-pool.';
type Vars = Record<string, string | number>;
type Translate = (key: string, vars?: Vars) => string;

let translate: Translate | undefined;
let english: Record<string, unknown> | undefined;
/**
 * Texts without variables, once translated: a status is set on every message (an action node's
 * "on"), and a catalogue lookup through RED._ costs more than the rest of the node's work.
 */
const plain = new Map<string, string>();

/** Use the runtime's RED._ for status texts and error messages (called by every node type at registration). */
export function useTranslator(fn: Translate | undefined): void {
  if (typeof fn === 'function' && fn !== translate) {
    translate = fn;
    plain.clear();
  }
}

function englishText(key: string): string | undefined {
  if (!english) {
    try {
      const file = path.join(__dirname, '..', 'locales', 'en-US', 'tplink-pool.json');
      english = (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>)['tplink-pool'] ?? {};
    } catch {
      english = {};
    }
  }
  const v = key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), english);
  return typeof v === 'string' ? v : undefined;
}

/** A text of the catalogue under tplink-pool (e.g. 'status.on', 'errors.noPool'), in the runtime's language. */
export function catalogueText(key: string, vars?: Vars): string {
  const known = vars ? undefined : plain.get(key);
  if (known !== undefined) return known;
  const full = NS + key;
  const t = translate?.(full, vars);
  if (typeof t === 'string' && t !== '' && t !== full && !t.startsWith(NS)) {
    if (!vars) plain.set(key, t);
    return t;
  }
  const en = englishText(key) ?? key;
  return vars ? en.replace(/__(\w+)__/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : en;
}

/** The status text for a key under tplink-pool.status, e.g. say('on'), say('summary', {on: 2, off: 1}). */
export function say(key: string, vars?: Vars): string {
  const t = catalogueText(`status.${key}`, vars);
  return t === `status.${key}` ? key : t;
}

const green = (text: string): NodeStatus => ({ fill: 'green', shape: 'dot', text });
const red = (text: string): NodeStatus => ({ fill: 'red', shape: 'ring', text });

export const statusOf = {
  on: (): NodeStatus => green(say('on')),
  off: (): NodeStatus => ({ fill: 'grey', shape: 'dot', text: say('off') }),
  online: (): NodeStatus => green(say('online')),
  connecting: (): NodeStatus => ({ fill: 'yellow', shape: 'ring', text: say('connecting') }),
  offline: (): NodeStatus => red(say('offline')),
  authError: (): NodeStatus => red(say('authFailed')),
  noPool: (): NodeStatus => red(say('noPool')),
  rebooting: (): NodeStatus => ({ fill: 'yellow', shape: 'ring', text: say('rebooting') }),
  rawSent: (): NodeStatus => green(say('rawSent')),
  /** A red ring with the short text of an error code ("timeout", "auth failed", … or the code). */
  failed: (code: string): NodeStatus => red(shortError(code)),
  /** A red ring "error CODE" (polling and pool events), "offline" for EOFFLINE. */
  error: (code: string | undefined): NodeStatus => (code === 'EOFFLINE' ? red(say('offline')) : red(code ? say('errorCode', { code }) : say('error'))),
  power: (watts: number): NodeStatus => green(say('power', { watts })),
  /** A device's transport or firmware changed: a blue dot "protocol klap → tpap". */
  changed: (key: 'protocolChanged' | 'firmwareChanged', from: string, to: string): NodeStatus => ({
    fill: 'blue',
    shape: 'dot',
    text: say(key, { from: clip(from, 40), to: clip(to, 40) }),
  }),
  entries: (count: number, period: 'day' | 'month'): NodeStatus => green(say(period === 'day' ? 'days' : 'months', { count })),
  summary: (on: number, off: number, offline: number, anyOn: boolean): NodeStatus => {
    const text = offline ? say('summaryOffline', { on, off, offline }) : say('summary', { on, off });
    return offline ? red(text) : { fill: anyOn ? 'green' : 'grey', shape: 'dot', text };
  },
};

/** What a status needs of an error: its code, and the guided fix it carries (src/fixes.ts `fix`, ELOCKED `until`). */
export interface ErrorFacts {
  code?: string;
  fix?: string;
  until?: number;
}

/**
 * The short red status of a guided fix: "login blocked until 14:32" for a lockout (ELOCKED or the
 * 'locked' fix), else the fix's own short text (status.fix.<id>); undefined for an error without a
 * fix we have a text for. The whole sentence is in the error's message (Catch nodes, the debug log).
 */
export function fixStatus(e: ErrorFacts | undefined): NodeStatus | undefined {
  if (!e) return undefined;
  if (e.code === 'ELOCKED' || e.fix === 'locked') return lockedStatus(e.until);
  if (!e.fix) return undefined;
  const t = say(`fix.${e.fix}`);
  return t === `fix.${e.fix}` ? undefined : red(t);
}

/** "login blocked until 14:32" (local time of `until`), or "login blocked" without a time. */
export function lockedStatus(until: number | undefined): NodeStatus {
  return red(typeof until === 'number' && Number.isFinite(until) ? say('lockedUntil', { time: clockTime(until) }) : say('locked'));
}

/** Short status text per error code (the full message goes to done(err)); the code itself when there is none. */
export function shortError(code: string): string {
  const t = say(`short.${code}`);
  return t === `short.${code}` ? code : t;
}

/** The status for a device state: on/off when it has a switch, otherwise online. */
export function stateStatus(s: Pick<DeviceState, 'on'> | undefined): NodeStatus {
  return s?.on === true ? statusOf.on() : s?.on === false ? statusOf.off() : statusOf.online();
}

/** The status for a pool event; undefined for statuses that need no change (idle). A failure with a guided fix shows the fix's text. */
export function poolStatusView(status: DeviceStatus, err?: ErrorFacts): NodeStatus | undefined {
  switch (status) {
    case 'connecting':
      return statusOf.connecting();
    case 'online':
      return statusOf.online();
    case 'locked':
      return lockedStatus(err?.until);
    case 'offline':
      return fixStatus(err) ?? statusOf.offline();
    case 'auth-error':
      return fixStatus(err) ?? statusOf.authError();
    case 'error':
      return fixStatus(err) ?? statusOf.error(err?.code);
    default:
      return undefined;
  }
}
