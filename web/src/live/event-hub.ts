import type { ChangeEvent } from './live-events';

/** What views hear from the live stream: an event, or 'resync' when what they show must be reloaded. */
export type LiveMessage = ChangeEvent | 'resync';

/** One live stream for the whole page, which every view listens to while it is shown. */
export class EventHub {
  private readonly listeners = new Set<(message: LiveMessage) => void>();

  subscribe(listener: (message: LiveMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(message: LiveMessage): void {
    for (const listener of this.listeners) listener(message);
  }
}
