// Loopback helpers for tests: a random 127.x.y base so parallel runs do not collide, and a
// count of open sockets/servers/timers for leak checks.

/** A random `127.x.y` base address (x in 100..219, y in 1..250). */
export function randomBase(): string {
  return `127.${100 + Math.floor(Math.random() * 120)}.${1 + Math.floor(Math.random() * 250)}`;
}

// Timers are left out: mocha's own hook timeout is one of them at any moment.
const WATCHED = new Set(['TCPWRAP', 'TCPSocketWrap', 'TCPServerWrap', 'UDPWRAP', 'UDPWrap', 'TCPWrap']);

/** Open handles that a library could leak: sockets, servers, UDP sockets. */
export function openHandles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (WATCHED.has(r)) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** Wait (bounded) until the open handles are back to `before` (closing sockets need a tick). */
export async function settleHandles(before: Record<string, number>, maxMs = 2000): Promise<Record<string, number>> {
  const t0 = Date.now();
  let now = openHandles();
  while (Date.now() - t0 < maxMs) {
    now = openHandles();
    if (Object.keys(now).every((k) => (now[k] ?? 0) <= (before[k] ?? 0))) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return now;
}
