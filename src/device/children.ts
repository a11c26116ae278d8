/**
 * Children (strip outlets, hub sensors) by reference: a 0-based index, an id, or an alias (exact,
 * then case-insensitive; a digit string also matches an index). The one lookup of the library:
 * the facade, the nodes and the CLI all use it.
 */
import { KasaTapoError } from '../errors';
import type { ChildRef, ChildState, DeviceState } from '../types';
import { describe } from './adapter';
import type { Normalised } from './caps';

/** The child `ref` names in `state`, or undefined. Never throws. */
export function findChild(state: Pick<DeviceState, 'children'>, ref: ChildRef): ChildState | undefined {
  const kids = state.children ?? [];
  if (typeof ref === 'number') return Number.isInteger(ref) ? (kids.find((k) => k.index === ref) ?? kids[ref]) : undefined;
  if (typeof ref !== 'string') return undefined;
  const low = ref.toLowerCase();
  return (
    kids.find((k) => k.id === ref) ??
    kids.find((k) => k.alias === ref) ??
    kids.find((k) => k.alias !== undefined && k.alias.toLowerCase() === low) ??
    (/^\d{1,3}$/.test(ref) ? kids.find((k) => k.index === Number(ref)) : undefined)
  );
}

/**
 * The child `ref` names on a device just read. Throws KasaTapoError: ENOTFOUND (no children, or no
 * such child: the message lists them), EBADINPUT (a ref that is neither a number nor a string).
 */
export function resolveChild(n: Normalised, ref: ChildRef): ChildState {
  const kids = n.state.children ?? [];
  if (!n.caps.children || kids.length === 0) throw new KasaTapoError('ENOTFOUND', `${describe(n)} has no children (asked for ${JSON.stringify(ref)})`);
  if (typeof ref !== 'number' && typeof ref !== 'string') throw new KasaTapoError('EBADINPUT', 'child must be an index (number), an id or an alias (string)');
  const c = findChild(n.state, ref);
  if (!c) {
    const known = kids.map((k) => `${k.index ?? '?'}: ${k.alias ?? k.id}`).join(', ');
    throw new KasaTapoError('ENOTFOUND', `${describe(n)} has no child ${JSON.stringify(ref).slice(0, 80)} (children: ${known.slice(0, 400)})`);
  }
  return c;
}
