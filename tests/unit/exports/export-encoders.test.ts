import { describe, expect, it } from 'vitest';
import type { SnapshotTask } from '../../../src/application/index.js';
import { attachmentBlobKey, type Attachment, type Task } from '../../../src/domain/index.js';
import { CsvExportEncoder, csvCell } from '../../../src/adapters/exports/csv-export-encoder.js';
import { JsonExportEncoder } from '../../../src/adapters/exports/json-export-encoder.js';
import { aTask } from '../../support/task-builders.js';

/** Pages of tasks, each with the attachments given for it (none unless given). */
async function* pagesOf(...pages: Array<Array<Task | SnapshotTask>>): AsyncIterable<SnapshotTask[]> {
  for (const page of pages) yield page.map((item) => ('task' in item ? item : { task: item, attachments: [] }));
}

async function encoded(chunks: AsyncIterable<Uint8Array>): Promise<{ text: string; chunks: number }> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(Buffer.from(chunk));
  return { text: Buffer.concat(all).toString('utf8'), chunks: all.length };
}

const created = new Date('2026-12-01T08:00:00.000Z');
const first = aTask({ id: 1, title: 'Buy milk', tags: ['home', 'errand'], dueDate: new Date('2026-12-02T17:30:00.000Z'), createdAt: created, updatedAt: created });
const second = aTask({ id: 2, title: 'Über “quotes”, 日本語 ✓', description: 'line one\nline two', status: 'done', completedAt: created, createdAt: created, updatedAt: created });
const third = aTask({ id: 3, title: 'Third', priority: 'urgent', createdAt: created, updatedAt: created });

const anAttachment = (taskId: number, id: string, overrides: Partial<Attachment> = {}): Attachment => ({
  id,
  userId: 1,
  taskId,
  filename: 'report ✓.pdf',
  contentType: 'application/pdf',
  size: 1234,
  sha256: 'ab'.repeat(32),
  storageKey: attachmentBlobKey(1, id),
  createdAt: new Date('2026-12-01T09:00:00.000Z'),
  ...overrides,
});

describe('the JSON export', () => {
  const json = new JsonExportEncoder();
  const older = anAttachment(2, '0b6f1c1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f');
  const newer = anAttachment(2, '7d3e9a10-5b6c-4d7e-9f80-1a2b3c4d5e6f', { filename: 'photo.png', contentType: 'image/png', size: 1, createdAt: new Date('2026-12-01T09:30:00.000Z') });
  const onThird = anAttachment(3, '1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5', { contentType: 'text/plain; charset=utf-8' });

  it('is the array of the tasks as GET /tasks/{id} returns them, each with its attachments, whatever the pages', async () => {
    const { text, chunks } = await encoded(json.encode(pagesOf([first, { task: second, attachments: [older, newer] }], [], [{ task: third, attachments: [onThird] }])));
    expect(chunks).toBe(3);
    const T = '2026-12-01T08:00:00.000Z';
    const common = { user_id: 1, completed: false, priority: 'medium', status: 'todo', description: '', due_date: null, remind_at: null, tags: [], completed_at: null, created_at: T, updated_at: T, version: 1 };
    // Literally what GET /tasks/{id} shows of each task, with what GET /tasks/{id}/attachments lists.
    expect(JSON.parse(text)).toEqual([
      { ...common, id: 1, title: 'Buy milk', due_date: '2026-12-02T17:30:00.000Z', tags: ['home', 'errand'], attachments: [] },
      {
        ...common, id: 2, title: 'Über “quotes”, 日本語 ✓', description: 'line one\nline two', status: 'done', completed: true, completed_at: T,
        attachments: [
          { id: older.id, task_id: 2, filename: 'report ✓.pdf', content_type: 'application/pdf', size: 1234, sha256: 'ab'.repeat(32), created_at: '2026-12-01T09:00:00.000Z' },
          { id: newer.id, task_id: 2, filename: 'photo.png', content_type: 'image/png', size: 1, sha256: 'ab'.repeat(32), created_at: '2026-12-01T09:30:00.000Z' },
        ],
      },
      {
        ...common, id: 3, title: 'Third', priority: 'urgent',
        attachments: [{ id: onThird.id, task_id: 3, filename: 'report ✓.pdf', content_type: 'text/plain; charset=utf-8', size: 1234, sha256: 'ab'.repeat(32), created_at: '2026-12-01T09:00:00.000Z' }],
      },
    ]);
    // The bytes are JSON.stringify's, and nothing of where the bytes are kept or whose they are.
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
    expect(text).not.toContain('attachments/1/');
    expect(Object.keys(JSON.parse(text)[1].attachments[0])).toEqual(['id', 'task_id', 'filename', 'content_type', 'size', 'sha256', 'created_at']);
  });

  it('is an empty array for a user without tasks', async () => {
    expect((await encoded(json.encode(pagesOf()))).text).toBe('[]');
  });
});

describe('the CSV export', () => {
  const csv = new CsvExportEncoder();
  const HEADER = 'id,title,description,status,priority,due_date,tags,completed_at,created_at,updated_at\r\n';
  const T = '2026-12-01T08:00:00.000Z';

  it('is a header row and one CRLF-ended record per task, tags joined by ";", no time as an empty cell', async () => {
    const { text } = await encoded(csv.encode(pagesOf([first], [third])));
    expect(text).toBe(
      HEADER +
        `1,Buy milk,,todo,medium,2026-12-02T17:30:00.000Z,home;errand,,${T},${T}\r\n` +
        `3,Third,,todo,urgent,,,,${T},${T}\r\n`,
    );
  });

  it('quotes cells holding a comma, a quote or a line break, doubling quotes, in UTF-8', async () => {
    const { text } = await encoded(csv.encode(pagesOf([second])));
    expect(text).toBe(HEADER + `2,"Über “quotes”, 日本語 ✓","line one\nline two",done,medium,,,${T},${T},${T}\r\n`);
    const bytes = Buffer.from(text, 'utf8');
    expect(bytes.includes(Buffer.from('日本語', 'utf8'))).toBe(true);
  });

  it('is the header alone for a user without tasks', async () => {
    expect((await encoded(csv.encode(pagesOf()))).text).toBe(HEADER);
  });

  it.each([
    ['=SUM(A1:A9)', "'=SUM(A1:A9)"],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@import', "'@import"],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['-a,b', `"'-a,b"`],
    ['a=b', 'a=b'],
    [' =not first', ' =not first'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['', ''],
  ])('writes the cell %j as %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('defuses a formula at the start of any text cell, tags included', async () => {
    const task = aTask({ id: 4, title: '@attack', description: '+cmd', tags: ['=evil', 'fine'], createdAt: created, updatedAt: created });
    const { text } = await encoded(csv.encode(pagesOf([task])));
    expect(text).toBe(HEADER + `4,'@attack,'+cmd,todo,medium,,'=evil;fine,,${T},${T}\r\n`);
  });
});
