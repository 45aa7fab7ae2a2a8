import { describe, expect, it } from 'vitest';
import { SseParser, type SseItem } from '../../../src/adapters/http-client/sse-parser.js';

const parseAll = (...chunks: string[]): SseItem[] => {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
};

describe('SseParser', () => {
  it('reads id / event / data frames and comment lines', () => {
    expect(parseAll('id: 7\nevent: task.created\ndata: {"id":"7"}\n\n: heartbeat\n\n')).toEqual([
      { kind: 'message', id: '7', event: 'task.created', data: '{"id":"7"}' },
      { kind: 'comment', text: 'heartbeat' },
    ]);
  });

  it('joins data lines, defaults the event to message and skips messages without data', () => {
    expect(parseAll('data: a\ndata:b\n\nevent: empty\n\n')).toEqual([{ kind: 'message', id: null, event: 'message', data: 'a\nb' }]);
  });

  it('takes \\r\\n and \\r as line ends, even split across chunks', () => {
    // A \r ending a chunk may be half of a \r\n: it counts once the next chunk shows which.
    expect(parseAll('data: one\r', '\n\r', '\ndata: two\r\r')).toEqual([{ kind: 'message', id: null, event: 'message', data: 'one' }]);
    expect(parseAll('data: one\r', '\n\r', '\ndata: two\r\r', ': next')).toEqual([
      { kind: 'message', id: null, event: 'message', data: 'one' },
      { kind: 'message', id: null, event: 'message', data: 'two' },
    ]);
  });

  it('waits for the blank line, however the frame is cut', () => {
    const frame = 'id: 12\nevent: task.deleted\ndata: {"id":"12","data":{"id":3}}\n\n';
    const parser = new SseParser();
    const items = [...frame].flatMap((char) => parser.push(char));
    expect(items).toEqual([{ kind: 'message', id: '12', event: 'task.deleted', data: '{"id":"12","data":{"id":3}}' }]);
  });
});
