/** How a GroupCommit forms its batches. */
export interface GroupCommitOptions {
  /** The most items one batch carries; a full batch goes at once, even beside one in flight. */
  maxItems: number;
  /**
   * How long items may wait for the batch in flight to return: past it they go in a batch of
   * their own beside it, so a slow commit delays what follows by at most this much.
   */
  maxWaitMs: number;
}

/** What a commit answers for each item of its batch, in the batch's order. */
export type ItemOutcome<R> = PromiseSettledResult<R>;

/** Commits a batch; resolves with one outcome per item, or rejects to fail every item. */
export type CommitBatch<I, R> = (items: I[]) => Promise<ItemOutcome<R>[]>;

interface Waiting<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (reason: unknown) => void;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxItems: 64, maxWaitMs: 5 };

/**
 * Group commit: while a batch is being committed (a Redis pipeline, a broker publish awaiting
 * its confirm), further items wait; when it returns, everything that waited goes as the next
 * batch. A lone item waits for nothing but the end of the event-loop turn that submitted it
 * (setImmediate: the turn's other items join it), so latency at low load stays as it was; under
 * load the batches grow by themselves, bounded by `maxItems` and `maxWaitMs`.
 *
 * Each item's promise settles with its own outcome from the commit that carried it; a commit
 * that rejects (or answers too few outcomes) fails every item of its batch, never a false ok.
 */
export class GroupCommit<I, R = void> {
  private waiting: Waiting<I, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly commit: CommitBatch<I, R>,
    private readonly options: GroupCommitOptions = DEFAULT_GROUP_COMMIT,
  ) {
    if (!(options.maxItems >= 1)) throw new RangeError('maxItems must be at least 1');
    if (!(options.maxWaitMs >= 0)) throw new RangeError('maxWaitMs must not be negative');
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.options.maxItems) {
        this.flush();
      } else if (this.inFlight === 0) {
        this.schedule();
      } else {
        this.armTimer();
      }
    });
  }

  /** What waits beside a batch in flight goes after `maxWaitMs` at the latest. */
  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.options.maxWaitMs);
  }

  /** The end of this turn: the turn's items go together. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.inFlight === 0) this.flush();
      else if (this.waiting.length > 0) this.armTimer();
    });
  }

  /** Sends up to `maxItems` of what waits as one batch; the rest waits for the next. */
  private flush(): void {
    if (this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.options.maxItems);
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.inFlight++;
    if (this.waiting.length > 0) this.armTimer();
    let running: Promise<ItemOutcome<R>[]>;
    try {
      running = this.commit(batch.map((w) => w.item));
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (outcomes) => this.settle(batch, outcomes),
      (err: unknown) => this.settle(batch, undefined, err),
    );
  }

  private settle(batch: Waiting<I, R>[], outcomes?: ItemOutcome<R>[], failure?: unknown): void {
    this.inFlight--;
    batch.forEach((w, i) => {
      const outcome = outcomes?.[i];
      if (outcome?.status === 'fulfilled') w.resolve(outcome.value);
      else if (outcome?.status === 'rejected') w.reject(outcome.reason);
      else w.reject(failure ?? new Error('the batch carried no outcome for this item'));
    });
    // What waited for this batch goes next, with whatever the rest of this turn adds.
    if (this.waiting.length > 0) this.schedule();
  }
}
