/**
 * tplink-action: changes a device (on, off, toggle, brightness, colour, colour temperature, LED,
 * reboot, raw command, or whatever msg.payload says). Output: msg.payload = the normalised state
 * after the change (raw: the device's answer), msg.raw = the device's own answer, msg.device.
 */
import { countdownDelay, validatePatch, type ChildRef, type DeviceApi, type DeviceState } from '../src/index';
import { countdownCommand, countdownStatus, runCountdown } from './lib/countdown';
import { childRef, deviceOf, deviceRef, evalProperty, findChild, num, setupDeviceNode, text, type DeviceNodeDef } from './lib/device';
import { actionCommand, type Command } from './lib/payload';
import type { Node, NodeStatus, RED } from './lib/red';
import { stateStatus, statusOf, useTranslator } from './lib/status';

interface ActionDef extends DeviceNodeDef {
  action?: string;
  value?: unknown;
  valueType?: string;
  transition?: string | number;
}

const NEEDS_VALUE = new Set(['brightness', 'color', 'colorTemp', 'led', 'raw']);

/** The one library call for a command. */
function run(dev: DeviceApi, cmd: Command, child: ChildRef | undefined): Promise<unknown> {
  switch (cmd.kind) {
    case 'set':
      return dev.setState(cmd.patch, child);
    case 'toggle':
      return dev.toggle(child, cmd.patch);
    case 'raw':
      return dev.raw(cmd.request, child);
    case 'reboot':
      return dev.reboot().then(() => ({ rebooting: true }));
  }
}

function statusAfter(cmd: Command, value: unknown, child: ChildRef | undefined): NodeStatus {
  if (cmd.kind === 'reboot') return statusOf.rebooting();
  if (cmd.kind === 'raw') return statusOf.rawSent();
  const s = value as DeviceState;
  return stateStatus(child !== undefined ? findChild(s, child) : s);
}

export = function register(RED: RED): void {
  useTranslator(RED._);
  function TplinkActionNode(this: Node, def: ActionDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    setupDeviceNode(RED, node, def, (ctx) => ({
      async input(msg, send) {
        const action = text(def.action) ?? 'payload';
        const cd = action === 'payload' ? countdownCommand(msg.payload) : undefined;
        if (cd) {
          // {"countdown": …}: "off in 10 minutes" (nodes/lib/countdown.ts)
          if (cd.op === 'set') countdownDelay(cd.spec); // EBADINPUT before any connection
          const ref = deviceRef(msg, def.device);
          const child = childRef(msg, def.child);
          const r = await ctx.useDevice(ref, async (d) => ({ ...(await d.withRaw((dev) => runCountdown(dev, cd, child))), device: deviceOf(d) }));
          Object.assign(msg, { payload: r.value, raw: r.raw, device: r.device });
          node.status(countdownStatus(r.value));
          send(msg);
          return;
        }
        const value = NEEDS_VALUE.has(action) ? await evalProperty(RED, node, def.value, def.valueType, msg) : undefined;
        const cmd = actionCommand(action, value, msg.payload);
        const transition = num(def.transition, 0, 0, 3600000);
        if ((cmd.kind === 'set' || cmd.kind === 'toggle') && transition > 0 && cmd.patch.transition === undefined) cmd.patch.transition = transition;
        // The library's own checks (EBADINPUT saying what it expected), before any connection: a
        // malformed payload must not cost a login.
        if (cmd.kind === 'set') validatePatch(cmd.patch);
        if (cmd.kind === 'toggle') validatePatch({ ...cmd.patch, on: true });
        const ref = deviceRef(msg, def.device);
        const child = childRef(msg, def.child);
        const out = await ctx.useDevice(ref, async (d) => ({ ...(await d.withRaw((dev) => run(dev, cmd, child))), device: deviceOf(d) }));
        msg.payload = out.value;
        msg.raw = out.raw;
        msg.device = out.device;
        node.status(statusAfter(cmd, out.value, child));
        send(msg);
      },
    }));
  }
  RED.nodes.registerType('tplink-action', TplinkActionNode);
};
