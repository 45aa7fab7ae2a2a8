import os from 'node:os';
import argon2 from 'argon2';
import type { PasswordHasher } from '../../application/index.js';

export interface Argon2Options {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's minimum for argon2id (m = 19 MiB, t = 2, p = 1). */
export const OWASP_ARGON2ID: Argon2Options = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * How many hashes may run at once. argon2 runs on libuv's thread pool (UV_THREADPOOL_SIZE, 4 by
 * default), which SQLite queries and file I/O share: were every thread busy hashing, a flood of
 * logins would stall every other request behind it. So at least one thread stays free, and at
 * least one core is left to the event loop.
 */
function defaultArgon2Concurrency(): number {
  const threadPool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(threadPool - 1, os.availableParallelism() - 1));
}

/** argon2id; hashing runs on libuv's thread pool, off the event loop, a bounded number at a time. */
export class Argon2PasswordHasher implements PasswordHasher {
  private dummyHash: Promise<string> | undefined;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly options: Argon2Options = OWASP_ARGON2ID,
    private readonly maxConcurrent: number = defaultArgon2Concurrency(),
  ) {}

  hash(plain: string): Promise<string> {
    return this.limited(() => argon2.hash(plain, { type: argon2.argon2id, ...this.options }));
  }

  async verify(hash: string, plain: string): Promise<boolean> {
    try {
      return await this.limited(() => argon2.verify(hash, plain));
    } catch {
      return false; // a malformed stored hash matches nothing
    }
  }

  async verifyAgainstDummy(plain: string): Promise<false> {
    this.dummyHash ??= this.hash('taskforge-dummy-password');
    await this.verify(await this.dummyHash, plain);
    return false;
  }

  /** Waits for a free slot; a finishing hash hands its slot straight to the next in line. */
  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.maxConcurrent) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
