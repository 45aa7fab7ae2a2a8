import { describe, expect, it } from 'vitest';
import { SseParser } from './sse';

describe('SseParser', () => {
  it('reads frames split anywhere across chunks, with LF, CRLF or CR line ends', () => {
    // A CR ending the text so far could be half a CRLF: the last frame ends with the comment after it.
    const stream = 'id: 1\nevent: task.created\ndata: {"a":1}\n\nid: 2\r\nevent: task.updated\r\ndata: {"b":2}\r\n\r\nid: 3\revent: x\rdata: 3\r\r: end\n';
    for (const size of [1, 2, 5, stream.length]) {
      const parser = new SseParser();
      const frames = [];
      for (let i = 0; i < stream.length; i += size) frames.push(...parser.push(stream.slice(i, i + size)));
      expect(frames).toEqual([
        { id: '1', event: 'task.created', data: '{"a":1}' },
        { id: '2', event: 'task.updated', data: '{"b":2}' },
        { id: '3', event: 'x', data: '3' },
      ]);
    }
  });

  it('skips comments (heartbeats), joins data lines and names an unnamed frame "message"', () => {
    const parser = new SseParser();
    expect(parser.push(': heartbeat\n\ndata: one\ndata: two\n\n')).toEqual([{ id: null, event: 'message', data: 'one\ntwo' }]);
  });
});
