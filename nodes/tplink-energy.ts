/**
 * tplink-energy: power, voltage, current and energy now (on input or by polling), or the history
 * by day of a month / by month of a year; for a strip that meters its outlets, per outlet (child).
 */
import type { EnergyHistory, EnergyReading } from '../src/index';
import { childRef, deviceOf, deviceOfRef, deviceRef, num, setupDeviceNode, text, type DeviceNodeDef } from './lib/device';
import { nodeError } from './lib/errors';
import { pollTargets, targetsOf } from './lib/poll';
import type { Node, NodeMessage, NodeStatus, RED } from './lib/red';
import { historyRead, historyStatus, isHistoryPeriod, type HistoryDef } from './lib/history';
import { statusOf, useTranslator } from './lib/status';

interface EnergyDef extends DeviceNodeDef, HistoryDef {
  mode?: string;
  poll?: boolean;
  interval?: string | number;
  onlyChanges?: boolean;
  year?: string | number;
  month?: string | number;
}

type Period = 'realtime' | 'day' | 'month';

function energyStatus(v: EnergyReading | EnergyHistory): NodeStatus {
  if ('entries' in v) return statusOf.entries(v.entries.length, v.period === 'day' ? 'day' : 'month');
  return v.powerW !== undefined ? statusOf.power(Math.round(v.powerW * 10) / 10) : statusOf.online();
}

/** What to read: msg.payload {period, year, month} over the configuration. Throws EBADINPUT. */
function request(def: EnergyDef, msg: NodeMessage): { period: Period; year?: number; month?: number } {
  const p = msg.payload && typeof msg.payload === 'object' && !Array.isArray(msg.payload) ? (msg.payload as Record<string, unknown>) : {};
  const period = (text(p.period) ?? text(def.mode) ?? 'realtime') as Period;
  if (!['realtime', 'day', 'month'].includes(period)) throw nodeError('EBADINPUT', 'badPeriod', { got: String(JSON.stringify(p.period)).slice(0, 30) });
  const pick = (v: unknown, c: unknown, what: string): number | undefined => {
    const x = v ?? (c === '' ? undefined : c);
    if (x === undefined || x === null) return undefined;
    const n = Number(x);
    if (!Number.isInteger(n)) throw nodeError('EBADINPUT', 'notInteger', { what, got: String(JSON.stringify(x)).slice(0, 30) });
    return n;
  };
  const year = pick(p.year, def.year, 'year');
  const month = pick(p.month, def.month, 'month');
  return { period, ...(year !== undefined ? { year } : {}), ...(month !== undefined ? { month } : {}) };
}

export = function register(RED: RED): void {
  useTranslator(RED._);
  function TplinkEnergyNode(this: Node, def: EnergyDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    setupDeviceNode(RED, node, def, (ctx) => {
      let cancel = (): void => undefined;
      if (def.poll === true && (text(def.mode) ?? 'realtime') === 'realtime') {
        try {
          const targets = targetsOf(ctx, def);
          const child = childRef({}, def.child);
          const intervalMs = num(def.interval, ctx.config.pollIntervalMs / 1000, 0.05, 86400) * 1000;
          cancel = pollTargets(
            ctx,
            targets,
            { kind: 'energy', intervalMs, onlyChanges: def.onlyChanges === true, ...(child !== undefined ? { child } : {}) },
            (t, value) => {
              node.status(energyStatus(value as EnergyReading));
              node.send({ topic: t.label, payload: value, device: deviceOfRef(ctx.config.pool, t.ref), ...(child !== undefined ? { child } : {}) });
            },
          ).cancel;
        } catch (e) {
          ctx.report(e, {});
        }
      }
      return {
        async input(msg, send) {
          const ref = deviceRef(msg, def.device);
          const child = childRef(msg, def.child);
          const asked = msg.payload && typeof msg.payload === 'object' ? (msg.payload as { period?: unknown }).period : undefined;
          const hp = asked ?? text(def.mode);
          if (isHistoryPeriod(hp)) {
            // Power by 5 min / hour, energy by hour (nodes/lib/history.ts).
            const read = historyRead(hp, def, msg, child);
            const h = await ctx.useDevice(ref, async (d) => ({ ...(await d.withRaw(read)), device: deviceOf(d) }));
            Object.assign(msg, { payload: h.value, raw: h.raw, device: h.device });
            node.status(historyStatus(h.value));
            send(msg);
            return;
          }
          const q = request(def, msg);
          const out = await ctx.useDevice(ref, async (d) => {
            const r = await d.withRaw((dev): Promise<EnergyReading | EnergyHistory> =>
              q.period === 'realtime'
                ? dev.getEnergy(child)
                : dev.getEnergyHistory(q.period, {
                    ...(q.year !== undefined ? { year: q.year } : {}),
                    ...(q.month !== undefined ? { month: q.month } : {}),
                    ...(child !== undefined ? { child } : {}),
                  }),
            );
            return { ...r, device: deviceOf(d) };
          });
          msg.payload = out.value;
          msg.raw = out.raw;
          msg.device = out.device;
          node.status(energyStatus(out.value));
          send(msg);
        },
        close: () => cancel(),
      };
    });
  }
  RED.nodes.registerType('tplink-energy', TplinkEnergyNode);
};
