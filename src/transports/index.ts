/**
 * Transport factory. Each transport's handshake and encryption are described at the top of its own
 * file: xor.ts (autokey XOR, TCP/UDP 9999, no handshake), klap.ts (seed/hash handshake, AES-128-CBC
 * per sequence number), aes.ts (RSA-wrapped AES key, login token, securePassthrough envelope),
 * tpap.ts (SPAKE2+ login, AEAD frames per sequence number).
 */
import { KasaTapoError, clip } from '../errors';
import { checkHost } from '../trust';
import type { Transport, TransportKind, TransportOptions } from '../types';
import { AesTransport } from './aes';
import { KlapTransport } from './klap';
import { TpapTransport } from './tpap';
import { XorTransport } from './xor';

export { AesTransport } from './aes';
export { KlapTransport } from './klap';
export { TpapTransport, tpapProfileIssue, tpapSpeaksKlap } from './tpap';
export { XorTransport, xorUdpRequest } from './xor';
export { DEFAULT_CREDENTIALS, HttpClient, parseSessionCookie, renewalDeadline, type HttpResponse } from './http';

import { DEFAULT_PORTS } from '../defaults';

export { DEFAULT_PORTS };

/**
 * Make a transport of the given kind (port defaults to DEFAULT_PORTS). Throws KasaTapoError
 * EBADINPUT for an unknown kind or a host that is neither an IP address nor a valid host name.
 */
export function createTransport(kind: TransportKind, opts: TransportOptions): Transport {
  const o: TransportOptions = { ...opts, host: checkHost(opts?.host), port: opts.port ?? DEFAULT_PORTS[kind] };
  switch (kind) {
    case 'xor':
      return new XorTransport(o);
    case 'klap':
      return new KlapTransport(o, 2);
    case 'klap-v1':
      return new KlapTransport(o, 1);
    case 'aes':
      return new AesTransport(o);
    case 'tpap':
      return new TpapTransport(o);
    default:
      throw new KasaTapoError('EBADINPUT', `Unknown transport "${clip(kind)}"`);
  }
}
