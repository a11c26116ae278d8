// Preloaded (`node --require`) into a CLI process that must not reach anything: every TCP connect
// throws at once, naming the host, before any name lookup. (The loopback guard lets through
// connects whose options carry a `path`, which HTTP requests do.)
import * as net from 'node:net';

net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]): net.Socket {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  const host = first && typeof first === 'object' ? (first as { host?: unknown }).host : args[1];
  throw new Error(`no-connect: a connection to ${String(host)} was stopped`);
};
