/**
 * Finer energy history of SMART (Tapo) meters:
 *
 * - power: `get_power_data {start_timestamp, end_timestamp, interval}` (epoch seconds; interval 5
 *   or 60 minutes) answers `{start_timestamp, interval, data:[W per interval]}`, oldest first.
 * - energy by hour: `get_energy_data` with interval 60 answers `{start_timestamp, data:[Wh per hour]}`.
 *
 * Both come back with ISO 8601 timestamps (UTC, the start of each interval) and the unit in each
 * value's name (`powerW`, `kWh`). Ranges default to the last 2 hours (5-minute power), the last 24
 * hours (hourly power, hourly energy); starts are rounded down to the interval.
 */
import type { PowerHistoryOptions, PowerHistory, HourlyEnergyOptions, HourlyEnergyHistory } from '../types';
import { KasaTapoError } from '../errors';
import { isObject } from '../json';

type Obj = Record<string, unknown>;

const MAX_SPAN_MS: Record<number, number> = { 5: 7 * 86_400_000, 60: 31 * 86_400_000 };

/** A time option → epoch ms. Throws KasaTapoError EBADINPUT. */
function timeOf(v: Date | number | string | undefined, what: string, fallback: number): number {
  if (v === undefined || v === null || v === '') return fallback;
  const t = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(t) || t < Date.UTC(2000, 0, 1) || t > Date.UTC(2100, 0, 1)) {
    throw new KasaTapoError('EBADINPUT', `${what} must be a date (Date, epoch ms or ISO text), got ${JSON.stringify(v).slice(0, 40)}`);
  }
  return t;
}

/** The request range for an interval: [start, end] in epoch seconds. Throws KasaTapoError EBADINPUT. */
export function rangeOf(
  intervalMin: number,
  opts: { start?: Date | number | string; end?: Date | number | string },
  defaultSpanMs: number,
  now = Date.now(),
): [number, number] {
  const end = timeOf(opts.end, 'end', now);
  const stepMs = intervalMin * 60_000;
  const start0 = timeOf(opts.start, 'start', end - defaultSpanMs);
  const start = start0 - (start0 % stepMs);
  if (end <= start) throw new KasaTapoError('EBADINPUT', 'end must be after start');
  if (end - start > (MAX_SPAN_MS[intervalMin] ?? MAX_SPAN_MS[60]!)) {
    throw new KasaTapoError('EBADINPUT', `A ${intervalMin}-minute history spans at most ${Math.round((MAX_SPAN_MS[intervalMin] ?? 0) / 86_400_000)} days`);
  }
  return [Math.floor(start / 1000), Math.floor(end / 1000)];
}

function entriesOf<T>(result: Obj, sentStart: number, stepS: number, endS: number, make: (at: string, v: number) => T | undefined): T[] {
  const start = typeof result['start_timestamp'] === 'number' && Number.isFinite(result['start_timestamp']) ? result['start_timestamp'] : sentStart;
  const data = Array.isArray(result['data']) ? result['data'].slice(0, 10_000) : [];
  const out: T[] = [];
  for (const [i, v] of data.entries()) {
    const t = start + i * stepS;
    if (t > endS) break;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e9) continue;
    const e = make(new Date(t * 1000).toISOString(), v);
    if (e !== undefined) out.push(e);
  }
  return out;
}

/**
 * Power history. `query(method, params)` asks the device (or the child). Throws KasaTapoError
 * EBADINPUT (options), EUNSUPPORTED (no power history) and what `query` throws.
 */
export async function readPowerHistory(
  query: (method: string, params: Obj) => Promise<Obj>,
  opts: PowerHistoryOptions = {},
): Promise<{ value: PowerHistory; raw: unknown }> {
  const intervalMin = opts.intervalMin ?? 5;
  if (intervalMin !== 5 && intervalMin !== 60) throw new KasaTapoError('EBADINPUT', `intervalMin must be 5 or 60, got ${JSON.stringify(intervalMin)}`);
  const [start, end] = rangeOf(intervalMin, opts, intervalMin === 5 ? 2 * 3_600_000 : 86_400_000);
  const r = await unsupportedAs('power history', () => query('get_power_data', { start_timestamp: start, end_timestamp: end, interval: intervalMin }));
  const entries = entriesOf(r, start, intervalMin * 60, end, (at, v) => ({ at, powerW: v }));
  return { value: { intervalMin, entries }, raw: { get_power_data: r } };
}

/** Energy by hour. Throws KasaTapoError EBADINPUT, EUNSUPPORTED and what `query` throws. */
export async function readHourlyEnergy(
  query: (method: string, params: Obj) => Promise<Obj>,
  opts: HourlyEnergyOptions = {},
): Promise<{ value: HourlyEnergyHistory; raw: unknown }> {
  const [start, end] = rangeOf(60, opts, 86_400_000);
  const r = await unsupportedAs('hourly energy history', () => query('get_energy_data', { start_timestamp: start, end_timestamp: end, interval: 60 }));
  const entries = entriesOf(r, start, 3600, end, (at, wh) => ({ at, kWh: Math.round(wh) / 1000 }));
  return { value: { period: 'hour', entries }, raw: { get_energy_data: r } };
}

async function unsupportedAs(what: string, fn: () => Promise<Obj>): Promise<Obj> {
  try {
    const r = await fn();
    if (!isObject(r)) throw new KasaTapoError('EPROTOCOL', `The ${what} answer is not an object`);
    return r;
  } catch (e) {
    if (e instanceof KasaTapoError && e.code === 'EUNSUPPORTED') throw new KasaTapoError('EUNSUPPORTED', `This device has no ${what}`, { cause: e });
    throw e;
  }
}

export type { PowerHistoryOptions, PowerHistory, HourlyEnergyOptions, HourlyEnergyHistory };
