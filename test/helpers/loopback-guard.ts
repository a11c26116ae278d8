// Loaded by mocha before every test file (.mocharc.json "require"): any UDP datagram or TCP
// connection a test (or the code under test) aims at a non-loopback address throws at once,
// so a missing `broadcast: '127.255.255.255'` can never reach the LAN from CI.
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

function check(addr: unknown, what: string): void {
  if (typeof addr === 'string' && addr !== '' && !LOOPBACK.test(addr)) {
    throw new Error(`loopback guard: a test tried to ${what} ${addr}; tests may use 127.0.0.0/8 and ::1 only`);
  }
}

const send = dgram.Socket.prototype.send as (...args: unknown[]) => void;
dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
  // send(msg, [offset, length,] port, [address], [callback]): the address is the first string after the message
  for (const a of args.slice(1)) if (typeof a === 'string') check(a, 'send a datagram to');
  return send.apply(this, args);
} as typeof dgram.Socket.prototype.send;

const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  const first = args[0];
  const opts = Array.isArray(first) ? (first[0] as { host?: unknown; path?: unknown }) : first;
  // An options object: its host is checked whenever it has one (http.request passes its URL path as
  // `path` too); only a socket path without a host (IPC) goes unchecked.
  if (opts && typeof opts === 'object') check((opts as { host?: unknown }).host, 'connect to');
  else if (typeof args[1] === 'string') check(args[1], 'connect to');
  return connect.apply(this, args);
};
