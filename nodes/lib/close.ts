/**
 * Closing nodes, with every budget in one place. Node-RED waits 15 s for a node's close; the pool
 * closes its sessions within POOL (the device nodes deregister first, within DEVICE_NODE), so a
 * redeploy never hits Node-RED's own timeout. One level: a close does its work once, and done()
 * follows the work or the budget, whichever ends first.
 */
import type { Node } from './red';

export const CLOSE_BUDGET_MS = { DEVICE_NODE: 5000, POOL: 8000 } as const;

/** Register the close handler: `work` runs once (a second close gets the same run); never rejects. */
export function closeWithin(node: Node, budgetMs: number, work: () => unknown): void {
  let closing: Promise<void> | undefined;
  node.on('close', (_removed, done) => {
    closing ??= Promise.resolve()
      .then(work)
      .then(
        () => undefined,
        () => undefined, // closing must not fail
      );
    let timer: NodeJS.Timeout | undefined;
    void Promise.race([closing, new Promise<void>((r) => (timer = setTimeout(r, budgetMs)))]).then(() => {
      clearTimeout(timer);
      done();
    });
  });
}
