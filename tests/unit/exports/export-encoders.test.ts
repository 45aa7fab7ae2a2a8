import { describe, expect, it } from 'vitest';
import type { Task } from '../../../src/domain/index.js';
import { CsvExportEncoder, csvCell } from '../../../src/adapters/exports/csv-export-encoder.js';
import { JsonExportEncoder } from '../../../src/adapters/exports/json-export-encoder.js';
import { toTaskDto } from '../../../src/adapters/http/task-mappers.js';
import { aTask } from '../../support/task-builders.js';

async function* pagesOf(...pages: Task[][]): AsyncIterable<Task[]> {
  for (const page of pages) yield page;
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

describe('the JSON export', () => {
  const json = new JsonExportEncoder();

  it('is the array of the tasks as GET /tasks/{id} returns them, each with its attachments, whatever the pages', async () => {
    const expected = JSON.stringify([first, second, third].map((task) => ({ ...toTaskDto(task), attachments: [] })));
    const { text, chunks } = await encoded(json.encode(pagesOf([first, second], [], [third])));
    expect(text).toBe(expected);
    expect(chunks).toBe(3);
    expect(JSON.parse(text)[1]).toEqual({
      id: 2, user_id: 1, title: 'Über “quotes”, 日本語 ✓', description: 'line one\nline two', status: 'done', completed: true, priority: 'medium',
      due_date: null, remind_at: null, tags: [], completed_at: '2026-12-01T08:00:00.000Z', created_at: '2026-12-01T08:00:00.000Z', updated_at: '2026-12-01T08:00:00.000Z',
      version: 1, attachments: [],
    });
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
