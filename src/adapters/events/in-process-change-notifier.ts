import type { ChangeNotifier } from '../../application/index.js';
import { ChangeListeners } from './change-listeners.js';

/** Notices within one process: enough for one instance (the SQLite default, tests). */
export class InProcessChangeNotifier implements ChangeNotifier {
  private readonly listeners = new ChangeListeners();

  notify(userIds: readonly number[]): void {
    for (const userId of userIds) this.listeners.changed(userId);
  }

  /** Nothing is ever missed within a process: `onMissed` is never called. */
  listen(listener: (userId: number) => void, onMissed?: () => void): () => void {
    return this.listeners.add(listener, onMissed);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
