/**
 * The engine runs one model call at a time anyway (it uses every core), so requests wait in a
 * short line instead of piling up tensors. A request is admitted before its body is read: at
 * most `concurrency + maxWaiting` are inside at once (reading, decoding, waiting or running),
 * and the next is refused at once with 503. So a flood costs a few bytes per refused request,
 * and memory is bounded by the admitted ones, whatever their number.
 */
import { HttpError } from './http-error.js';

/** Runs a job on the engine when its turn comes. */
export type Engine = <R>(job: () => Promise<R>) => Promise<R>;

export class WorkQueue {
  private admitted = 0;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
  ) {}

  /** Requests inside (admitted and not finished). */
  get depth(): number {
    return this.admitted;
  }

  async admit<T>(work: (engine: Engine) => Promise<T>): Promise<T> {
    if (this.admitted >= this.concurrency + this.maxWaiting) {
      throw new HttpError(503, `busy: ${this.admitted} request(s) are being served or waiting; retry in a moment`, {
        'Retry-After': '1',
      });
    }
    this.admitted++;
    try {
      return await work((job) => this.engine(job));
    } finally {
      this.admitted--;
    }
  }

  private async engine<R>(job: () => Promise<R>): Promise<R> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await job();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), else free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
