/** The contract between the device facade and its two protocol adapters (IOT and SMART). */
import type { RetryStats } from '../protocols/retry';
import type { ChildState, EnergyHistory, EnergyReading, Transport, TransportKind, WithRaw } from '../types';
import type { Normalised } from './caps';
import type { NormPatch } from './patch';

export type { WithRaw } from '../types';

export interface Adapter {
  readonly stats: RetryStats;
  /** Read and normalise the whole state (with children). */
  read(): Promise<WithRaw<Normalised>>;
  /** Apply a validated, capability-checked patch; `n` is the last read. Answers the device's own answer(s). */
  apply(p: NormPatch, n: Normalised, child?: ChildState): Promise<unknown>;
  /** Restart the device; answers its own answer. */
  reboot(n: Normalised): Promise<unknown>;
  energy(n: Normalised, child?: ChildState): Promise<WithRaw<EnergyReading>>;
  history(period: 'day' | 'month', year: number, month: number, n: Normalised, child?: ChildState): Promise<WithRaw<EnergyHistory>>;
  raw(request: unknown, child?: ChildState): Promise<unknown>;
}

/** The name used in error texts: "HS110", "HS300 outlet \"Lamp\"". */
export function describe(n: Normalised, child?: ChildState): string {
  const base = n.state.model ?? n.state.alias ?? n.state.host;
  return child ? `${base} ${child.kind ?? 'child'} "${child.alias ?? child.id}"` : base;
}

/** Where a state comes from: `transport` read live (a KLAP transport's kind follows the hash version handshake1 proved). Never throws. */
export function whereOf(t: Transport): { host: string; port: number; transport: TransportKind } {
  return Object.defineProperty({ host: t.host, port: t.port } as { host: string; port: number; transport: TransportKind }, 'transport', {
    get: () => t.kind,
    enumerable: true,
  });
}

/** Receives the device's own answer(s) behind a value (withRaw), when set. */
export type Note = ((raw: unknown) => void) | undefined;

/** Pass an adapter's raw answer to `note`, if any, and answer its value. Never throws. */
export function noted<T>(note: Note, r: WithRaw<T>): T {
  note?.(r.raw);
  return r.value;
}
