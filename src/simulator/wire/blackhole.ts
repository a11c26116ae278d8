/**
 * A listening TCP port that never completes a connection: what a client sees of a device that is
 * powered off or out of range while its address is still known (connects time out instead of being
 * refused). Loopback cannot drop packets, so the port is bound by a worker thread that then blocks
 * (Atomics.wait) and never accepts; once its small accept queue is filled by our own filler
 * connections, the kernel drops every further SYN and clients' connects hang until their timeout.
 * Used by the `unreachable` fault (common.ts).
 */
import * as net from 'node:net';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer();
server.on('error', (e) => parentPort.postMessage({ error: String(e && e.code || e) }));
server.listen({ host: workerData.host, port: workerData.port, backlog: 1 }, () => {
  parentPort.postMessage({ ok: true });
  const flag = new Int32Array(workerData.flag);
  // Block this thread (bounded waits, until told to stop): its event loop never accepts.
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 1000);
  server.close();
  process.exit(0);
});
`;

/** How long a filler connection may take before we call the accept queue full. */
const FILLER_WAIT_MS = 60;
const MAX_FILLERS = 6;

export interface Blackhole {
  /** Release the port (the queued fillers are reset). Idempotent; never rejects. */
  close(): Promise<void>;
}

/**
 * Bind host:port in a blocked worker and fill its accept queue. Rejects with the bind error
 * (e.g. EADDRINUSE while the previous listener is still closing).
 */
export async function startBlackhole(host: string, port: number): Promise<Blackhole> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, { eval: true, workerData: { host, port, flag } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', () => undefined);
  const fillers: net.Socket[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const f = new Int32Array(flag);
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      await exited;
      for (const s of fillers) s.destroy();
    })());

  const ready = await new Promise<{ ok?: boolean; error?: string }>((resolve) => {
    worker.once('message', resolve);
    worker.once('exit', () => resolve({ error: 'worker exited' }));
  });
  if (!ready.ok) {
    await close();
    throw Object.assign(new Error(`blackhole on ${host}:${port}: ${ready.error ?? 'failed'}`), { code: ready.error });
  }
  // Fill the accept queue (Linux: backlog + 1 entries) until a connect no longer completes.
  for (let i = 0; i < MAX_FILLERS; i++) {
    const s = net.connect({ host, port });
    s.on('error', () => undefined);
    fillers.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), FILLER_WAIT_MS);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!connected) break;
  }
  return { close };
}
