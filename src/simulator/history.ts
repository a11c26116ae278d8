/**
 * Tapo power history for the simulator: `get_power_data {start_timestamp, end_timestamp, interval}`
 * (epoch seconds; interval 5 or 60 minutes) answers
 * `{start_timestamp, end_timestamp, interval, data:[W per interval]}` — the mean power of each
 * interval in whole watts, oldest first, future intervals 0. At most 7 days of 5-minute steps or
 * 31 days of hourly ones. The figures follow the meter's generated hourly energy (the same day
 * totals get_energy_data reports), with a little jitter per 5-minute step.
 */
import { unitHash, ymd, type Meter } from './meter';

const MAX_STEPS: Record<number, number> = { 5: 12 * 24 * 7, 60: 24 * 31 };

/** Generated Wh of the hour starting at `t` (epoch ms), from the meter's day total. */
export function hourWh(meter: Meter, t: number): number {
  const d = ymd(t);
  const hour = new Date(t).getHours();
  const weights = Array.from({ length: 24 }, (_, h) => 0.2 + unitHash(`${meter.seed}:${d.year}-${d.month}-${d.day}:${h}`));
  const sum = weights.reduce((x, y) => x + y, 0);
  return (meter.dayWh(d.year, d.month, d.day) * weights[hour]!) / sum;
}

/** The get_power_data answer. Throws what `badParams()` makes on bad parameters. */
export function powerData(meter: Meter, q: Record<string, unknown>, now: number, badParams: () => Error): Record<string, unknown> {
  const start = q['start_timestamp'];
  const end = q['end_timestamp'];
  const interval = q['interval'];
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4_102_444_800;
  if (!ok(start) || !ok(end) || end < start || (interval !== 5 && interval !== 60)) throw badParams();
  const step = interval * 60_000;
  const data: number[] = [];
  for (let t = start * 1000; t < end * 1000 && data.length < MAX_STEPS[interval]!; t += step) {
    if (t > now) data.push(0);
    else if (t + step > now) data.push(Math.round(meter.powerW()));
    else {
      const hourStart = t - (t % 3_600_000);
      const meanW = hourWh(meter, hourStart);
      const jitter = interval === 5 ? 0.85 + 0.3 * unitHash(`${meter.seed}:p:${t}`) : 1;
      data.push(Math.round(meanW * jitter));
    }
  }
  return { start_timestamp: start, end_timestamp: end, interval, data };
}
