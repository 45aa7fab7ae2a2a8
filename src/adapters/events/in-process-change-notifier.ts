import type { ChangeNotifier } from '../../application/index.js';

/** Notices within one process: enough for one instance (the SQLite default, tests). */
export class InProcessChangeNotifier implements ChangeNotifier {
  private readonly listeners = new Set<(userId: number) => void>();

  notify(userIds: readonly number[]): void {
    for (const userId of userIds) for (const listener of this.listeners) listener(userId);
  }

  listen(listener: (userId: number) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
