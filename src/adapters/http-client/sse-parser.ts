/** One dispatched Server-Sent Events message, or a comment line (what heartbeats are). */
export type SseItem = { kind: 'message'; id: string | null; event: string; data: string } | { kind: 'comment'; text: string };

const LINE_END = /\r\n|\n|\r/;

/**
 * Reads a text/event-stream as the HTML standard describes it, chunk by chunk: `field: value`
 * lines, `data` lines joined by line breaks, a blank line dispatching the message, lines starting
 * with a colon being comments. Messages without data are not dispatched, as in an EventSource.
 */
export class SseParser {
  private pending = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;

  push(text: string): SseItem[] {
    this.pending += text;
    const items: SseItem[] = [];
    for (;;) {
      const match = LINE_END.exec(this.pending);
      // A lone \r at the end may be the first half of \r\n: wait for the next chunk.
      if (!match || (match[0] === '\r' && match.index === this.pending.length - 1)) break;
      const line = this.pending.slice(0, match.index);
      this.pending = this.pending.slice(match.index + match[0].length);
      const item = this.line(line);
      if (item) items.push(item);
    }
    return items;
  }

  private line(line: string): SseItem | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return { kind: 'comment', text: line.slice(1).trimStart() };
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return null;
  }

  private dispatch(): SseItem | null {
    const item: SseItem | null = this.data.length === 0 ? null : { kind: 'message', id: this.id, event: this.event || 'message', data: this.data.join('\n') };
    this.data = [];
    this.event = '';
    this.id = null;
    return item;
  }
}
