/**
 * Bounded hand-off between a frame producer (a decoder child) and the pipeline. When the
 * pipeline falls behind a live camera, the useful frame is the newest one: stale frames only
 * add latency. So a full queue drops its OLDEST item, counts the drop, and never grows; the
 * ring buffer is allocated once so memory stays flat however long the camera runs.
 */
export class FrameQueue<T> {
  readonly capacity: number;
  private readonly ring: (T | undefined)[];
  private head = 0;
  private count = 0;
  private closedFlag = false;
  private dropCount = 0;
  /** Consumers blocked in `shift()`; at most one item is ever handed to each. */
  private readonly waiters: ((item: T | undefined) => void)[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.ring = new Array<T | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  get drops(): number {
    return this.dropCount;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  isFull(): boolean {
    return this.count === this.capacity;
  }

  /**
   * Adds an item; hands it straight to a waiting consumer when there is one. Returns the item
   * that was dropped to make room (undefined when none was). Pushing to a closed queue is a
   * no-op that returns the item itself, so a late frame from a dying child is simply discarded.
   */
  push(item: T): T | undefined {
    if (this.closedFlag) return item;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(item);
      return undefined;
    }
    let dropped: T | undefined;
    if (this.count === this.capacity) {
      dropped = this.ring[this.head];
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      this.dropCount++;
    }
    this.ring[(this.head + this.count) % this.capacity] = item;
    this.count++;
    return dropped;
  }

  /** The oldest item without waiting; undefined when empty. */
  tryShift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.ring[this.head];
    // Clear the slot so the queue does not keep a large frame buffer alive after handing it out.
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  /** The oldest item, waiting for one when empty; undefined once the queue is closed and drained. */
  shift(): Promise<T | undefined> {
    if (this.count > 0) return Promise.resolve(this.tryShift());
    if (this.closedFlag) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** No more items will come: waiting consumers get undefined; queued items can still be drained. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Drops everything queued (e.g. on stop) without counting it as overflow. */
  clear(): void {
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}
