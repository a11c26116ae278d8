/**
 * Opening a device over a transport: read it once in its application protocol (IOT or SMART JSON).
 *
 * The protocol comes from what the device says, never from the transport's hash version: a
 * discovery answer's `device_type` (or an earlier session) gives it; without one, a transport that
 * can carry both (KLAP: Kasa IOT firmware of 2025–26 uses the v2 hashes that Tapo uses) tries both
 * request styles over the one session, the transport's usual one first (PROTOCOLS_OF). A style the
 * device answered but not as asked (IOT: no `system.get_sysinfo`; SMART: a get_device_info that
 * names no device) is a miss; any other failure (login, network, session) is thrown as is. When
 * every style misses, the device is EUNSUPPORTED with what it answered — never an empty state.
 */
import { KasaTapoError, clip, isKasaTapoError } from '../errors';
import { withRetry } from '../protocols/retry';
import type { ProtocolKind, Transport } from '../types';
import { createDevice, type Device, type DeviceOptions } from './index';
import { PROTOCOLS_OF } from './table';

/** Failures that mean "answered, but not in this request style". */
export const STYLE_MISS: ReadonlySet<string> = new Set(['EPROTOCOL', 'EUNSUPPORTED', 'EDEVICE']);
const FIRST_READ: Readonly<Record<ProtocolKind, string>> = { iot: 'IOT system.get_sysinfo', smart: 'SMART get_device_info' };

/**
 * Process-wide cache: a weak mark on openDevice's "answered neither style" errors; each error object
 * carries it to its own caller (answeredNeitherStyle), so no caller sees another's.
 */
const neither = new WeakSet<KasaTapoError>();

/** Whether `e` is openDevice's "logged in, but answered neither request style" (the most telling probe result). Never throws. */
export function answeredNeitherStyle(e: unknown): boolean {
  return e instanceof KasaTapoError && neither.has(e);
}

/**
 * Build the Device over `transport` and read it once (getState). With `opts.protocol` only that
 * protocol is used; without, each protocol the transport can carry is tried in turn over the same
 * session. `signal` aborting closes the device being read (its transport). Answers the device and
 * the protocol it answered in. On failure the transport is closed. Throws KasaTapoError:
 * EUNSUPPORTED (answered, but in neither request style: the message says what each style got),
 * and whatever the read throws (EAUTH, ETIMEDOUT, ECONNREFUSED, ESESSION, ...).
 */
export async function openDevice(transport: Transport, opts: DeviceOptions = {}, signal?: AbortSignal): Promise<{ device: Device; protocol: ProtocolKind }> {
  const misses: string[] = [];
  let current: Device | undefined;
  const onAbort = (): void => void (current ? current.close() : transport.close());
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let styles: readonly ProtocolKind[] = opts.protocol ? [opts.protocol] : (PROTOCOLS_OF[transport.kind] ?? ['smart']);
    const login = (transport as Transport & { login?: () => Promise<void> }).login;
    if (styles.length > 1 && typeof login === 'function') {
      // Log in first (under the retry policy, as a first request would): the hash version the
      // device proves (KLAP v1: the 2021 Kasa firmware) orders the styles, at no extra cost.
      await withRetry(transport, () => login.call(transport), { ...opts, ...(signal ? { signal } : {}) }, { retries: 0 });
      styles = PROTOCOLS_OF[transport.kind] ?? styles;
    }
    for (const protocol of styles) {
      current = createDevice(transport, { ...opts, protocol });
      const answered = transport.stats.requests;
      try {
        await current.getState();
        if (misses.length > 0) opts.logger?.debug?.(`${transport.host}: speaks ${protocol.toUpperCase()} (${misses.join('; ')})`);
        return { device: current, protocol };
      } catch (e) {
        // One style only, a failure that is not about the style, or no answer at all: as is.
        if (styles.length === 1 || signal?.aborted || !isKasaTapoError(e) || !STYLE_MISS.has(e.code) || transport.stats.requests === answered) throw e;
        misses.push(`${FIRST_READ[protocol]} → ${clip(e.message, 160)}`);
      }
    }
    const err = new KasaTapoError(
      'EUNSUPPORTED',
      `${transport.host}:${transport.port} completed the ${transport.kind} login but answered neither request style: ${misses.join('; ')}`,
      { host: transport.host, hint: 'The device speaks neither Kasa (IOT) nor Tapo (SMART) JSON; it cannot be controlled by this library' },
    );
    neither.add(err);
    throw err;
  } catch (e) {
    await (current ? current.close() : transport.close()).catch(() => undefined);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
