// The work queue of the reconcile loop, keyed by service name, as controller-runtime's: a key is
// queued at most once however often it is added, is handed out one at a time, and can be added
// for later (a back-off expiring, a max_runtime deadline). Only keys are queued, never what
// happened: the reconcile of a key reads that service's whole desired and observed state.

export class WorkQueue {
  private readonly ready = new Set<string>();
  /** Key → when it is due; only the earliest time is kept. */
  private readonly later = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(
    /** Called (once per tick) when keys are ready to be taken. */
    private readonly onReady: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(key: string): void {
    if (this.ready.has(key)) return;
    this.ready.add(key);
    this.onReady();
  }

  /** Queues `key` at `at` (ms since epoch), or now if that has passed. */
  addAt(key: string, at: number): void {
    if (at <= this.now()) return this.add(key);
    const cur = this.later.get(key);
    if (cur !== undefined && cur <= at) return;
    this.later.set(key, at);
    if (at < this.timerAt) this.arm(at);
  }

  /** Takes every ready key (and every delayed key now due), clearing them. */
  take(): string[] {
    this.promoteDue();
    const keys = [...this.ready];
    this.ready.clear();
    return keys;
  }

  get size(): number {
    return this.ready.size;
  }

  /** Keys queued now or for later. */
  get pending(): number {
    return this.ready.size + this.later.size;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.later.clear();
    this.ready.clear();
  }

  private promoteDue(): void {
    const now = this.now();
    let next = Infinity;
    for (const [key, at] of this.later) {
      if (at <= now) {
        this.later.delete(key);
        this.ready.add(key);
      } else next = Math.min(next, at);
    }
    if (next !== this.timerAt) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      if (next !== Infinity) this.arm(next);
    }
  }

  // One timer for every delayed key: the earliest.
  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.promoteDue();
      if (this.ready.size > 0) this.onReady();
    }, Math.max(0, at - this.now()));
  }
}
