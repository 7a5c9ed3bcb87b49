/**
 * The engine runs one model call at a time anyway (it uses every core), so requests wait in a
 * short line instead of piling up tensors: at most `concurrency` jobs run and `maxWaiting` wait;
 * past that a request is refused at once with 503, so a flood costs a few bytes each, not memory.
 */
import { HttpError } from './http-error.js';

export class WorkQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly concurrency: number, readonly maxWaiting: number) {}

  get depth(): number {
    return this.running + this.waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new HttpError(503, `busy: ${this.running} job(s) running and ${this.waiting.length} waiting; retry in a moment`, { 'Retry-After': '1' });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
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
