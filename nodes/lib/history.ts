/**
 * tplink-energy's finer history modes (Tapo meters): "power" — power by 5 minutes or by hour over a
 * range — and "hour" — energy by hour. The range comes from msg.payload `{start, end}` (Date, epoch
 * ms or ISO text) or else the node's "last N hours"; msg.payload.intervalMin (5 or 60) overrides
 * the node's step.
 */
import type { ChildRef, DeviceApi, HourlyEnergyHistory, PowerHistory } from '../../src/index';
import { num, text } from './device';
import { NodeError, badInput } from './errors';
import type { NodeMessage, NodeStatus } from './red';

export interface HistoryDef {
  mode?: string;
  rangeHours?: string | number;
  step?: string | number;
}

export const HISTORY_PERIODS = ['power', 'hour'] as const;
export type HistoryPeriod = (typeof HISTORY_PERIODS)[number];

export function isHistoryPeriod(p: unknown): p is HistoryPeriod {
  return p === 'power' || p === 'hour';
}

/** The read for a "power" or "hour" request. Throws EBADINPUT for bad msg/config values. */
export function historyRead(
  period: HistoryPeriod,
  def: HistoryDef,
  msg: NodeMessage,
  child: ChildRef | undefined,
): (dev: DeviceApi) => Promise<PowerHistory | HourlyEnergyHistory> {
  const p = msg.payload && typeof msg.payload === 'object' && !Array.isArray(msg.payload) ? (msg.payload as Record<string, unknown>) : {};
  const time = (v: unknown, what: string): number | string | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'number' || typeof v === 'string') return v;
    if (v instanceof Date) return v.getTime();
    throw badInput(`msg.payload.${what} must be a date (epoch ms or ISO text)`);
  };
  const step = p['intervalMin'] ?? (text(def.step) !== undefined ? Number(def.step) : 5);
  if (period === 'power' && step !== 5 && step !== 60) throw badInput(`intervalMin must be 5 or 60; got ${JSON.stringify(step).slice(0, 20)}`);
  const end = time(p['end'], 'end');
  const hours = num(def.rangeHours, period === 'power' && step === 5 ? 2 : 24, 0.1, 24 * 31);
  const start = time(p['start'], 'start') ?? (end !== undefined ? undefined : Date.now() - hours * 3_600_000);
  const range = { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), ...(child !== undefined ? { child } : {}) };
  return (dev) => {
    if (period === 'hour') return dev.getEnergyHistory('hour', range);
    if (typeof dev.getPowerHistory !== 'function') throw new NodeError('EUNSUPPORTED', 'This device has no power history');
    return dev.getPowerHistory({ ...range, intervalMin: step as 5 | 60 });
  };
}

export function historyStatus(v: PowerHistory | HourlyEnergyHistory): NodeStatus {
  return { fill: 'green', shape: 'dot', text: 'intervalMin' in v ? `${v.entries.length} × ${v.intervalMin} min` : `${v.entries.length} hours` };
}
