/**
 * The simulator's wire servers, one per transport kind: XOR (TCP, autokey XOR, no handshake),
 * KLAP v1/v2 (HTTP, seed/hash handshake, AES-128-CBC per sequence number) and AES (HTTP, RSA-wrapped
 * session key, login token, securePassthrough) and TPAP (HTTP, SPAKE2+ login, AEAD frames). Each decrypts a request, hands its text to
 * `opts.handler`, and encrypts the answer; faults (src/simulator/types.ts) are injected here.
 */
import { KasaTapoError } from '../../errors';
import type { TransportKind } from '../../types';
import type { WireServer, WireServerOptions } from '../types';
import { startAesServer } from './aes';
import { startKlapServer } from './klap';
import { startTpapServer } from './tpap';
import { startXorServer } from './xor';

export { startAesServer } from './aes';
export { startKlapServer } from './klap';
export { startTpapServer, type TpapSimOptions } from './tpap';
export { startXorServer } from './xor';
export { assertLoopback, newWireStats } from './common';

/** Start the device side of `kind` on opts.host:opts.port. Rejects with the listen error or EBADINPUT (non-loopback host, unknown kind). */
export function startWireServer(kind: TransportKind, opts: WireServerOptions): Promise<WireServer> {
  switch (kind) {
    case 'xor':
      return startXorServer(opts);
    case 'klap':
      return startKlapServer(2, opts);
    case 'klap-v1':
      return startKlapServer(1, opts);
    case 'aes':
      return startAesServer(opts);
    case 'tpap':
      return startTpapServer(opts);
    default:
      return Promise.reject(new KasaTapoError('EBADINPUT', `Unknown transport "${String(kind)}"`));
  }
}
