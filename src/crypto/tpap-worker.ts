/**
 * The client's P-256 work of a TPAP login (L = x·G + w·M, then Z, V, the transcript, the keys and
 * both confirmations: four scalar multiplications, a few ms each) on a worker thread, so that the
 * event loop never stalls on it however many devices log in at once. One worker per process,
 * started on first use and unref'd (it never keeps the process alive). If a worker cannot be
 * started (or dies), the same work runs on the main thread in small steps instead
 * (tpapClientFinishAsync, one step per event-loop turn).
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { KasaTapoError } from '../errors';
import { tpapClientFinishAsync, tpapClientShare, tpapRandomScalar, tpapTurn } from './tpap';

/** What a login needs from the key exchange. */
export interface TpapClientKeys {
  L: Buffer;
  userConfirm: Buffer;
  devConfirm: Buffer;
  sharedKey: Buffer;
}

interface Job {
  id: number;
  x: string;
  w: string;
  h: string;
  R: Uint8Array;
  userRandom: Uint8Array;
  devRandom: Uint8Array;
}

type Reply =
  | { id: number; L: Uint8Array; userConfirm: Uint8Array; devConfirm: Uint8Array; sharedKey: Uint8Array }
  | { id: number; error: { code?: string; message: string } };

// The worker runs the compiled crypto/tpap.js beside this file.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const t = require(workerData.module);
parentPort.on('message', (m) => {
  try {
    const w = BigInt('0x' + m.w), h = BigInt('0x' + m.h), x = BigInt('0x' + m.x);
    const { L } = t.tpapClientShare(w, x);
    const k = t.tpapClientFinish({ x, w, h, L, R: Buffer.from(m.R), userRandom: Buffer.from(m.userRandom), devRandom: Buffer.from(m.devRandom) });
    parentPort.postMessage({ id: m.id, L, userConfirm: k.userConfirm, devConfirm: k.devConfirm, sharedKey: k.sharedKey });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { code: e && e.code, message: String(e && e.message || e) } });
  }
});
`;

// Process-wide resource: one worker thread serves the TPAP logins of the whole process (every
// pool's), started on first use; these four are its handle, whether it failed, and its open calls.
let worker: Worker | undefined;
let broken = false;
let nextId = 1;
const pending = new Map<number, { resolve(k: TpapClientKeys): void; reject(e: unknown): void }>();

function failAll(e: unknown): void {
  worker = undefined;
  for (const p of pending.values()) p.reject(e);
  pending.clear();
}

function getWorker(): Worker | undefined {
  if (worker || broken) return worker;
  try {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: join(__dirname, 'tpap.js') } });
    w.unref();
    w.on('message', (r: Reply) => {
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if ('error' in r) {
        p.reject(new KasaTapoError('EPROTOCOL', r.error.message));
      } else {
        p.resolve({ L: Buffer.from(r.L), userConfirm: Buffer.from(r.userConfirm), devConfirm: Buffer.from(r.devConfirm), sharedKey: Buffer.from(r.sharedKey) });
      }
      if (pending.size === 0) w.unref();
    });
    w.on('error', (e) => {
      broken = true;
      failAll(new KasaTapoError('EPROTOCOL', `TPAP crypto worker failed: ${e instanceof Error ? e.message : String(e)}`));
    });
    w.on('exit', () => {
      if (worker === w) failAll(new KasaTapoError('EPROTOCOL', 'TPAP crypto worker exited'));
    });
    worker = w;
  } catch {
    broken = true;
  }
  return worker;
}

/** On the main thread, one step per event-loop turn. */
async function onMainThread(a: { w: bigint; h: bigint; R: Uint8Array; userRandom: Uint8Array; devRandom: Uint8Array }): Promise<TpapClientKeys> {
  await tpapTurn();
  const { x, L } = tpapClientShare(a.w);
  const k = await tpapClientFinishAsync({ x, w: a.w, h: a.h, L, R: a.R, userRandom: a.userRandom, devRandom: a.devRandom });
  return { L, userConfirm: k.userConfirm, devConfirm: k.devConfirm, sharedKey: k.sharedKey };
}

/**
 * The client's share and the keys for a login, computed off the event loop.
 * Rejects with KasaTapoError EPROTOCOL (an invalid or degenerate device share, or a worker failure).
 */
export function tpapClientKeys(
  a: { w: bigint; h: bigint; R: Uint8Array; userRandom: Uint8Array; devRandom: Uint8Array },
  opts: { worker?: boolean } = {},
): Promise<TpapClientKeys> {
  const w = opts.worker === false ? undefined : getWorker();
  if (!w) return onMainThread(a);
  return new Promise<TpapClientKeys>((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    if (pending.size === 1) w.ref();
    const job: Job = {
      id,
      x: tpapRandomScalar().toString(16),
      w: a.w.toString(16),
      h: a.h.toString(16),
      R: a.R,
      userRandom: a.userRandom,
      devRandom: a.devRandom,
    };
    w.postMessage(job);
  });
}
