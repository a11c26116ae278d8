/**
 * Guided fixes: one table from a failure's signature to the one sentence that tells the user what
 * to do. Errors carry the id (`KasaTapoError.fix`) and the sentence (`hint`); the node status,
 * Scan and Test show the same sentence, so a user reads the same advice everywhere.
 * A leaf module: imports nothing but types.
 */

/** The failure signatures we know a fix for. Stable ids (tests and the nodes key on them). */
export type FixId =
  /** KLAP handshake answered HTTP 403 (the device refuses third-party logins). */
  | 'third-party'
  /** A Kasa (IOT) device on KLAP with login version 2 rejected both hash versions ("challenge mismatch"). */
  | 'klap-v2-iot'
  /** TPAP login refused (-2203, -1501, -2101): names the credential transform that was tried. */
  | 'tpap-credentials'
  /** The device blocks logins until a given time (SMART/TPAP -40404, or our own login budget). */
  | 'locked'
  /** Port refused, a UDP 20002 probe was sent and the device then answered. */
  | 'woke'
  /** Port refused, a UDP 20002 probe was sent, and it is still not reachable. */
  | 'unreachable'
  /** The TP-Link account uses two-factor authentication (cloud login asks for a code). */
  | 'two-factor'
  /** The device (or whoever answers at its address) now announces a transport the pool will not follow. */
  | 'protocol-changed'
  /** A TPAP device asks for a credential transform that does not involve the password. */
  | 'no-password'
  /** A device that needs the TP-Link account refused a login, and the pool has no credentials. */
  | 'no-credentials';

/** What a sentence may quote. Never credentials. */
export interface FixFacts {
  host?: string;
  port?: number;
  /** Epoch ms until which logins are blocked ('locked'). */
  until?: number;
  /** TPAP credential transform that was tried ('tpap-credentials'), e.g. "password_shadow 2". */
  transform?: string;
  /** 'protocol-changed': what the device answers now, and what it was set to or proved before. */
  announced?: string;
  before?: string;
}

/** "14:32" (local time) for an epoch ms; with the date when it is not today. Never throws. */
export function clockTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  if (!Number.isFinite(d.getTime())) return 'later';
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return new Date(now).toDateString() === d.toDateString() ? hm : `${d.toISOString().slice(0, 10)} ${hm}`;
}

/** How a TPAP credential transform reads in a sentence. */
const transformText = (t: string | undefined): string =>
  t === undefined || t === 'none' || t === 'plain' ? 'the plain e-mail and password' : `the "${t}" credential transform the device asked for`;

/** The guided-fix table: signature → sentence. Sentences never quote credentials. */
export const FIXES: Readonly<Record<FixId, (f: FixFacts) => string>> = {
  'third-party': () =>
    'Third-Party Compatibility is off on this device (it refused the login handshake with HTTP 403). Turn it on in the ' +
    'Tapo app (Me > Third-Party Services > Third-Party Compatibility) or the Kasa app, or switch it off and on again, then retry',
  'klap-v2-iot': () =>
    'This Kasa device uses the 2025 login (KLAP with login version 2) and rejected the TP-Link account. Check the ' +
    'e-mail and password of the account the device is registered to in the Kasa app',
  'tpap-credentials': (f) =>
    `The device rejected the TP-Link account (tried ${transformText(f.transform)}). Check the e-mail and password of the ` +
    'account the device is registered to in the Tapo app; after a password change, power-cycle the device so it learns the new one',
  locked: (f) =>
    `Login blocked until ${f.until !== undefined ? clockTime(f.until) : 'later'} after failed logins; no login is sent ` +
    'before then (each one would extend the block). Fix the password in the pool meanwhile',
  woke: (f) => `Port ${f.port ?? 80} was closed until the device was woken with a UDP 20002 discovery probe; it answered after the probe`,
  unreachable: (f) =>
    `Port ${f.port ?? 80} stays closed even after a UDP 20002 discovery probe. Check that the device is powered and on ` +
    'this network, and that its address has not changed',
  'two-factor': () =>
    'The TP-Link account uses two-factor (two-step) verification, which the cloud login cannot answer. Local control still ' +
    'works: use the account e-mail and password in the pool; for the cloud, use a second account without two-step verification',
  'protocol-changed': (f) =>
    `The device now announces ${f.announced ?? 'another transport'} where it ${f.before ?? 'used another one'}; the pool does not ` +
    'follow an unauthenticated answer. If you updated or replaced the device, press Test beside it in the pool, then "Accept the change", ' +
    "or change its transport in the pool's device list; otherwise something else may be answering at its address",
  'no-password': (f) =>
    `The device asks for the TPAP credential transform "${f.transform ?? '?'}", which does not involve the account password: ` +
    'anyone who knows the account e-mail could pass it. Allow it for this device only if you trust the address ' +
    '("allow a login without the password" in the library: tpapAllowNoPassword)',
  'no-credentials': () =>
    'This device logs in with the TP-Link account it is registered to (Kasa/Tapo app), and no account is set: enter its ' +
    "e-mail and password in the pool's configuration (library: the Pool's credentials option). Only Kasa devices on the old XOR protocol need none",
};

/** The sentence for a signature. Never throws. */
export function fixFor(id: FixId, facts: FixFacts = {}): string {
  return FIXES[id](facts);
}
