/**
 * Shared wake-ups: callbacks due at nearby times share one timer. A due time is rounded up to a
 * slot boundary (slots of `granularity` ms, at most POLL_SLOT_MS); one timer is armed for the
 * earliest slot and runs every callback of that slot when it fires. 1,000 devices polled every
 * 10 s then wake the event loop at most 100 times per 10 s instead of 1,000.
 */
export class Wakeups {
  private readonly slots = new Map<number, Set<() => void>>();
  private timer?: NodeJS.Timeout;
  private armedAt = Infinity;
  private stopped = false;

  /**
   * Run `fn` at `at` (epoch ms), rounded up to a multiple of `granularity` ms. Answers a function
   * that cancels it. Never throws; a throwing `fn` does not stop the others.
   */
  at(at: number, granularity: number, fn: () => void): () => void {
    const g = Math.max(1, Math.floor(granularity));
    const slot = Math.ceil(at / g) * g;
    let set = this.slots.get(slot);
    if (!set) {
      set = new Set();
      this.slots.set(slot, set);
    }
    set.add(fn);
    this.arm(slot);
    const owner = set;
    return () => {
      owner.delete(fn);
      if (owner.size === 0 && this.slots.get(slot) === owner) this.slots.delete(slot);
    };
  }

  private arm(slot: number): void {
    if (this.stopped || slot >= this.armedAt) return;
    clearTimeout(this.timer);
    this.armedAt = slot;
    this.timer = setTimeout(() => this.fire(), Math.max(0, slot - Date.now()));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    // Collect first: callbacks re-arm (often into a later slot) while we run them.
    const due: (() => void)[] = [];
    for (const [slot, set] of this.slots) {
      if (slot <= now + 1) {
        this.slots.delete(slot);
        for (const fn of set) due.push(fn);
      } else if (slot < next) next = slot;
    }
    if (next !== Infinity) this.arm(next);
    for (const fn of due) {
      try {
        fn();
      } catch {
        /* one callback's fault must not stop the others */
      }
    }
  }

  /** Cancel everything (close()). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.slots.clear();
  }
}
