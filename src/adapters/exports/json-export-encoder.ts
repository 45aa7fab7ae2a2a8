import type { ExportEncoder, SnapshotTask } from '../../application/index.js';
import { toAttachmentDto } from '../http/attachment-mappers.js';
import { toTaskDto } from '../http/task-mappers.js';

/**
 * A task as `GET /tasks/{id}` returns it, with its attachments as `GET /tasks/{id}/attachments`
 * lists them. The same keys in the same order as `{ ...toTaskDto(task), attachments }`, but not
 * spread into a copy: measured on a 100,000-task export from PostgreSQL, with the spread nearly
 * every page's rows and tasks survived young-generation GCs into the old generation (~20 MiB of
 * garbage there by the end, the worker ~20 MiB bigger); added to the DTO itself, ~3 MiB.
 */
const toExportedTask = ({ task, attachments }: SnapshotTask) => Object.assign(toTaskDto(task), { attachments: attachments.map(toAttachmentDto) });

/**
 * A JSON array of the tasks exactly as `GET /tasks/{id}` returns them, each with its
 * `attachments`, the metadata of each (oldest first). The bytes are those of
 * `JSON.stringify(array)`, written a page at a time.
 */
export class JsonExportEncoder implements ExportEncoder {
  async *encode(pages: AsyncIterable<Iterable<SnapshotTask>>): AsyncIterable<Uint8Array> {
    let separator = '[';
    for await (const page of pages) {
      let items = '';
      for (const exported of page) items += `,${JSON.stringify(toExportedTask(exported))}`;
      if (items === '') continue;
      yield Buffer.from(separator + items.slice(1), 'utf8');
      separator = ',';
    }
    yield Buffer.from(separator === '[' ? '[]' : ']', 'utf8');
  }
}
