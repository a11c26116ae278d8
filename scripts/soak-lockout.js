#!/usr/bin/env node
/**
 * The real-time lockout soak: a wrong password against locking devices (one AES, one
 * TPAP, on loopback), polled every second for 10 minutes through a pool with its default options
 * (authRetryMs 60 s, login budget 3). The simulated devices lock after 2 failed logins for 480 s
 * (-40404 with sec_left); the right password comes back at 500 s, so the unlock at about 540 s
 * must be followed by a successful login at once. Prints the logins that reached each device, the
 * unlock time the pool showed, and when polling answered again.
 *
 *   npm run build && node scripts/soak-lockout.js            # 10 minutes
 *   SOAK_S=120 LOCK_S=90 RIGHT_AT_S=100 node scripts/soak-lockout.js   # shorter
 *
 * KASA_DIST=/path/to/dist runs another build (a copy, so that a rebuild meanwhile is harmless).
 */
'use strict';
const path = require('node:path');

const dist = process.env.KASA_DIST ?? path.join(__dirname, '..', 'dist');
const { Pool } = require(path.join(dist, 'src', 'pool'));
const { startSimulatedDevice } = require(path.join(dist, 'src', 'simulator'));

const SOAK_S = Number(process.env.SOAK_S ?? 600);
const LOCK_S = Number(process.env.LOCK_S ?? 480);
const RIGHT_AT_S = Number(process.env.RIGHT_AT_S ?? 500);
const POLL_MS = Number(process.env.POLL_MS ?? 1000);
const credentials = { username: 'soak@example.com', password: 'Soak-Lockout-1' };

async function main() {
  const t0 = Date.now();
  const at = () => Math.round((Date.now() - t0) / 100) / 10;
  const devs = [
    await startSimulatedDevice('p110aes', { host: '127.0.77.1', credentials, faults: { wrongCredentials: true, lockAfter: 2, lockoutS: LOCK_S } }),
    await startSimulatedDevice('p110tpap', { host: '127.0.77.2', credentials, faults: { wrongCredentials: true, lockAfter: 2, lockoutS: LOCK_S } }),
  ];
  const pool = new Pool({
    credentials,
    ...(process.env.AUTH_RETRY_MS ? { authRetryMs: Number(process.env.AUTH_RETRY_MS) } : {}),
    devices: devs.map((d) => ({ alias: d.profile.transport, host: d.host, port: d.port, transport: d.transport, loginVersion: 2 })),
  });
  const report = {};
  for (const d of devs) {
    const name = d.profile.transport;
    const r = (report[name] = {
      polls: 0,
      ok: 0,
      errors: {},
      statuses: [],
      lockedUntilShown: [],
      firstOkAfterRightS: undefined,
      loginsWhileWrong: 0,
      loginsTotal: 0,
    });
    pool.on('status', (key, status, err) => {
      if (key !== pool.deviceStats(name)?.key) return;
      r.statuses.push(`${at()}s ${status}${err ? ` ${err.code}` : ''}`);
      if (err?.code === 'ELOCKED' && err.until) r.lockedUntilShown.push({ atS: at(), until: new Date(err.until).toISOString(), message: err.message });
    });
    pool.subscribe(name, { intervalMs: POLL_MS }, (err) => {
      r.polls++;
      if (err) r.errors[err.code] = (r.errors[err.code] ?? 0) + 1;
      else {
        r.ok++;
        if (r.firstOkAfterRightS === undefined && at() >= RIGHT_AT_S) r.firstOkAfterRightS = at();
      }
    });
  }
  const right = setTimeout(() => {
    for (const d of devs) {
      report[d.profile.transport].loginsWhileWrong = d.stats.logins;
      d.faults.wrongCredentials = false;
    }
    console.log(`${at()}s: the right password is back`);
  }, RIGHT_AT_S * 1000);
  const tick = setInterval(
    () =>
      console.log(
        `${at()}s: logins ${devs.map((d) => `${d.profile.transport}=${d.stats.logins}`).join(' ')}, status ${devs.map((d) => pool.status(d.profile.transport)).join('/')}`,
      ),
    30_000,
  );
  await new Promise((r) => setTimeout(r, SOAK_S * 1000));
  clearTimeout(right);
  clearInterval(tick);
  for (const d of devs) {
    const r = report[d.profile.transport];
    r.loginsTotal = d.stats.logins;
    r.deviceLockedUntil = d.faults.lockedUntil ? new Date(d.faults.lockedUntil).toISOString() : undefined;
    r.finalStatus = pool.status(d.profile.transport);
  }
  await pool.close();
  await Promise.all(devs.map((d) => d.close()));
  console.log(JSON.stringify({ soakS: SOAK_S, lockS: LOCK_S, rightAtS: RIGHT_AT_S, pollMs: POLL_MS, startedAt: new Date(t0).toISOString(), report }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
