/** Status helpers: one look for every node (green dot on/online, grey off, yellow connecting, red ring errors). */
import type { DeviceState } from '../../src/index';
import type { DeviceStatus } from '../../src/pool';
import type { NodeStatus } from './red';

export const STATUS = {
  on: { fill: 'green', shape: 'dot', text: 'on' },
  off: { fill: 'grey', shape: 'dot', text: 'off' },
  online: { fill: 'green', shape: 'dot', text: 'online' },
  connecting: { fill: 'yellow', shape: 'ring', text: 'connecting' },
  offline: { fill: 'red', shape: 'ring', text: 'offline' },
  authError: { fill: 'red', shape: 'ring', text: 'auth failed' },
} as const satisfies Record<string, NodeStatus>;

/** The status for a device state: on/off when it has a switch, otherwise online. */
export function stateStatus(s: Pick<DeviceState, 'on'> | undefined, extra?: string): NodeStatus {
  const base: NodeStatus = s?.on === true ? STATUS.on : s?.on === false ? STATUS.off : STATUS.online;
  return extra ? { ...base, text: `${base.text} · ${extra}` } : { ...base };
}

/** The status for a pool event; undefined for statuses that need no change (idle). */
export function poolStatusView(status: DeviceStatus, err?: { code?: string }): NodeStatus | undefined {
  switch (status) {
    case 'connecting':
      return { ...STATUS.connecting };
    case 'online':
      return { ...STATUS.online };
    case 'offline':
      return { ...STATUS.offline };
    case 'auth-error':
      return { ...STATUS.authError };
    case 'error':
      return { fill: 'red', shape: 'ring', text: err?.code ? `error ${err.code}` : 'error' };
    default:
      return undefined;
  }
}
