/** Stable made-up hex for simulated device ids, MACs and owners, from a seed. Never throws. */
import { createHash } from 'node:crypto';

export function simHex(seed: string, len: number): string {
  return createHash('sha256').update(`kasa-tapo-sim:${seed}`).digest('hex').slice(0, len).toUpperCase();
}
