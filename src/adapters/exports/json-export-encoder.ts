import type { ExportEncoder, SnapshotTask } from '../../application/index.js';
import { toAttachmentDto } from '../http/attachment-mappers.js';
import { toTaskDto } from '../http/task-mappers.js';

/** A task as `GET /tasks/{id}` returns it, with its attachments as `GET /tasks/{id}/attachments` lists them. */
const toExportedTask = ({ task, attachments }: SnapshotTask) => ({ ...toTaskDto(task), attachments: attachments.map(toAttachmentDto) });

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
