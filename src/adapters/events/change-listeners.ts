import { randomBytes } from 'node:crypto';
/** Where a notifier reports trouble with its connection (the service's logger). */
export interface NotifierLog {
  info(message: string): void;
  warn(message: string): void;
}

interface Subscription {
  changed: (userId: number) => void;
  missed?: () => void;
}

/**
 * The listeners of one notifier. Every notifier hands its own instance's notices to them at
 * once, before (and besides) sending them to the other instances: streams on the instance that
 * committed need no round trip. The echo that comes back from Redis or PostgreSQL a moment
 * later is a duplicate, which costs a listener one more read of the log and nothing else.
 */
export class ChangeListeners {
  private readonly subscriptions = new Set<Subscription>();

  add(changed: (userId: number) => void, missed?: () => void): () => void {
    const subscription: Subscription = { changed, missed };
    this.subscriptions.add(subscription);
    return () => void this.subscriptions.delete(subscription);
  }

  changed(userId: number): void {
    for (const subscription of this.subscriptions) subscription.changed(userId);
  }

  missed(): void {
    for (const subscription of this.subscriptions) subscription.missed?.();
  }

  clear(): void {
    this.subscriptions.clear();
  }
}

/**
 * A notice's text: the sending instance's tag, a colon, the user id in decimal. The tag lets an
 * instance skip the echo of its own notices, which it has already handed to its listeners.
 */
export class NoticeFormat {
  private readonly tag = randomBytes(6).toString('hex');

  write(userId: number): string {
    return `${this.tag}:${userId}`;
  }

  /** What other instances may send, as SQL: `prefix || user id` is a notice. */
  get prefix(): string {
    return `${this.tag}:`;
  }

  /** The user a notice from another instance names; null for this instance's own and for anything not ours. */
  read(text: string): number | null {
    const match = /^([0-9a-f]{12}):([1-9][0-9]{0,14})$/.exec(text);
    return match && match[1] !== this.tag ? Number(match[2]) : null;
  }
}

/** The first line of an error's message: enough for a log line, never a stack or a connection string. */
export function briefly(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim() || 'unknown error';
}
