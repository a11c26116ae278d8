/** What the kasa-tapo command line (src/cli.ts) prints for a person, and how it ends when nobody reads it. */
import type { EnergyReading } from './types';

/** A reading rounded for a person: 1 decimal for W and V, 3 for A and kWh (--json keeps the device's own numbers). */
const fixed = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

/** `energy` as text: "power 84.5 W, 231.4 V, 0.365 A; today 0.017 kWh, month 4.210 kWh, total 205.174 kWh". */
export function energyText(e: EnergyReading): string {
  const now = [
    e.powerW !== undefined ? `power ${fixed(e.powerW, 1)} W` : '',
    e.voltageV !== undefined ? `${fixed(e.voltageV, 1)} V` : '',
    e.currentA !== undefined ? `${fixed(e.currentA, 3)} A` : '',
  ].filter(Boolean);
  const totals = [
    e.todayKWh !== undefined ? `today ${fixed(e.todayKWh, 3)} kWh` : '',
    e.monthKWh !== undefined ? `month ${fixed(e.monthKWh, 3)} kWh` : '',
    e.totalKWh !== undefined ? `total ${fixed(e.totalKWh, 3)} kWh` : '',
  ].filter(Boolean);
  if (!now.length && !totals.length) return 'no energy readings';
  return [now.join(', '), totals.length ? totals.join(', ') : '(this device reports no energy totals)'].filter(Boolean).join('; ');
}

/**
 * A reader that went away (`kasa-tapo discover | head -1`): stop quietly, no EPIPE stack trace.
 * What was asked has been done; only its printout has nobody to read it.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream, exit: (code: number) => void = (c) => process.exit(c)): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    else throw e;
  });
}
