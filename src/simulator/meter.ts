/**
 * Shared helpers of the simulated devices: a deterministic pseudo-random source, an energy meter
 * whose power drifts a little with time (0 when off) and whose totals grow while on, and a
 * generated but stable day/month history (same device + same date → same value).
 */

/** FNV-1a over a string → [0, 1). Deterministic; used for generated history and per-device jitter. */
export function unitHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x100000000;
}

export interface MeterSpec {
  /** Typical draw when on, in W. */
  baseW: number;
  /** Mains voltage, V (230 EU/UK, 120 US). */
  voltageV: number;
  /** Hours per day the load typically runs (history generation). Default 6. */
  hoursPerDay?: number;
}

const DAY_MS = 86_400_000;

/** Local calendar date of an epoch ms. */
export function ymd(t: number): { year: number; month: number; day: number } {
  const d = new Date(t);
  return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate() };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(year, month, 0).getDate();
}

/** 'YYYY-MM-DD HH:MM:SS' local time, as SMART devices report `local_time`. */
export function localTimeText(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * An energy meter bound to an on/off state. `now` is injectable for tests (defaults to Date.now).
 * Energy used since the simulator started is added to today's generated figure and to the total.
 */
export class Meter {
  private accWh = 0;
  private last: number;
  private erasedAt = 0;

  constructor(
    readonly seed: string,
    readonly spec: MeterSpec,
    private readonly isOn: () => boolean,
    private readonly load: () => number = () => 1,
    private readonly now: () => number = Date.now,
  ) {
    this.last = now();
  }

  /** Advance the integration to now; call before the on state or the load changes. */
  tick(): void {
    const t = this.now();
    const dt = Math.max(0, t - this.last);
    this.last = t;
    if (this.isOn()) this.accWh += (this.nominalW() * dt) / 3_600_000;
  }

  private nominalW(): number {
    return this.spec.baseW * this.load();
  }

  /** Instantaneous power, W: a few percent of slow drift around the nominal draw; 0 when off. */
  powerW(): number {
    if (!this.isOn()) return 0;
    const t = this.now() / 1000;
    const j = unitHash(this.seed) * 6.28;
    return Math.max(0, this.nominalW() * (1 + 0.03 * Math.sin(t / 7 + j) + 0.01 * Math.sin(t / 1.3 + j)));
  }

  voltageV(): number {
    const t = this.now() / 1000;
    return this.spec.voltageV * (1 + 0.006 * Math.sin(t / 11 + unitHash(this.seed + 'v') * 6.28));
  }

  currentA(): number {
    return this.powerW() / this.voltageV();
  }

  /** Generated energy of one past (or the current) day in Wh; 0 before an erase or in the future. */
  dayWh(year: number, month: number, day: number): number {
    const start = new Date(year, month - 1, day).getTime();
    const nowT = this.now();
    if (start > nowT || start + DAY_MS <= this.erasedAt) return 0;
    const hours = (this.spec.hoursPerDay ?? 6) * (0.5 + unitHash(`${this.seed}:${year}-${month}-${day}`));
    let wh = this.spec.baseW * hours;
    const today = ymd(nowT);
    if (today.year === year && today.month === month && today.day === day) {
      this.tick();
      const elapsed = (nowT - start) / DAY_MS;
      wh = (this.erasedAt > start ? 0 : wh * elapsed) + this.accWh;
    }
    return Math.round(wh);
  }

  /** Days of a month up to today, with their Wh (days with nothing recorded are left out). */
  days(year: number, month: number): { day: number; wh: number }[] {
    const out: { day: number; wh: number }[] = [];
    const n = daysInMonth(year, month);
    for (let d = 1; d <= n; d++) {
      const wh = this.dayWh(year, month, d);
      if (wh > 0) out.push({ day: d, wh });
    }
    return out;
  }

  monthWh(year: number, month: number): number {
    return this.days(year, month).reduce((s, e) => s + e.wh, 0);
  }

  /** Months of a year up to now, with their Wh. */
  months(year: number): { month: number; wh: number }[] {
    const out: { month: number; wh: number }[] = [];
    for (let m = 1; m <= 12; m++) {
      const wh = this.monthWh(year, m);
      if (wh > 0) out.push({ month: m, wh });
    }
    return out;
  }

  todayWh(): number {
    const d = ymd(this.now());
    return this.dayWh(d.year, d.month, d.day);
  }

  thisMonthWh(): number {
    const d = ymd(this.now());
    return this.monthWh(d.year, d.month);
  }

  /** Lifetime total in Wh: this year's history (what an erase clears) plus what was used since start. */
  totalWh(): number {
    const d = ymd(this.now());
    const prior = this.erasedAt ? 0 : Math.round(this.spec.baseW * 400 * (0.5 + unitHash(this.seed + 'p')));
    return this.months(d.year).reduce((s, e) => s + e.wh, 0) + prior;
  }

  /** Minutes on today / over the last n days (generated from the same hours). */
  runtimeMin(days: number): number {
    let min = 0;
    const t = this.now();
    for (let i = 0; i < days; i++) {
      const d = ymd(t - i * DAY_MS);
      const wh = this.dayWh(d.year, d.month, d.day);
      min += this.spec.baseW > 0 ? Math.round((wh / this.spec.baseW) * 60) : 0;
    }
    return Math.min(min, days * 1440);
  }

  energyWhOverDays(days: number): number {
    let wh = 0;
    const t = this.now();
    for (let i = 0; i < days; i++) {
      const d = ymd(t - i * DAY_MS);
      wh += this.dayWh(d.year, d.month, d.day);
    }
    return wh;
  }

  /** Forget the history and the total (IOT erase_emeter_stat). */
  erase(): void {
    this.tick();
    this.accWh = 0;
    this.erasedAt = this.now();
  }
}
