import type { ExportEncoder } from '../../application/index.js';
import type { Task } from '../../domain/index.js';
import { toTaskDto } from '../http/task-mappers.js';

/**
 * A JSON array of the tasks exactly as `GET /tasks/{id}` returns them, each with its
 * `attachments` (none yet: tasks have no attachments). The bytes are those of
 * `JSON.stringify(array)`, written a page at a time.
 */
export class JsonExportEncoder implements ExportEncoder {
  async *encode(pages: AsyncIterable<Iterable<Task>>): AsyncIterable<Uint8Array> {
    let separator = '[';
    for await (const page of pages) {
      let items = '';
      for (const task of page) items += `,${JSON.stringify(toTaskDto(task)).slice(0, -1)},"attachments":[]}`;
      if (items === '') continue;
      yield Buffer.from(separator + items.slice(1), 'utf8');
      separator = ',';
    }
    yield Buffer.from(separator === '[' ? '[]' : ']', 'utf8');
  }
}
