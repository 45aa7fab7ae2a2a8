import fastJsonStringify from 'fast-json-stringify';
import { describe, expect, it } from 'vitest';
import { TaskDto, TaskPage } from '../../../src/adapters/http/schemas/task-schemas.js';
import { TaskJson } from '../../../src/adapters/http/task-json.js';
import { toTaskDto } from '../../../src/adapters/http/task-mappers.js';
import type { TaskListPage } from '../../../src/application/index.js';
import { aTask } from '../../support/task-builders.js';

/** What Fastify's response serializer writes for these schemas. */
const serializerFor = (schema: object) => fastJsonStringify(schema) as (value: unknown) => string;

const varied = () => [
  aTask({ title: 'Plain' }),
  aTask({
    title: 'Ünïcødé "quoted" \\ back\u2028slash 😀 </script>',
    description: 'line\nbreak\ttab\u0001control',
    status: 'done',
    priority: 'urgent',
    dueDate: new Date('0001-01-01T00:00:00.000Z'),
    tags: ['work', 'q"4'],
    version: 7,
  }),
  aTask({ dueDate: new Date('9999-12-31T23:59:59.999Z'), status: 'in_progress', tags: [] }),
];

const pageOf = (items: ReturnType<typeof aTask>[], overrides: Partial<TaskListPage> = {}): TaskListPage => ({
  items,
  total: 42,
  limit: 20,
  offset: 0,
  nextCursor: 'eyJ1IjoxfQ.c2lnbmF0dXJl',
  ...overrides,
});

describe('TaskJson', () => {
  it('writes each task exactly as the response serializer writes its DTO', () => {
    const writeDto = serializerFor(TaskDto);
    const json = new TaskJson();
    for (const task of varied()) expect(json.of(task)).toBe(writeDto(toTaskDto(task)));
  });

  it('writes a page exactly as the serializer writes the TaskPage document, cursor or not, offset or not', () => {
    const writePage = serializerFor(TaskPage);
    const json = new TaskJson();
    const pages = [
      pageOf(varied()),
      pageOf(varied(), { offset: null, nextCursor: null }),
      pageOf([], { total: 0, offset: 40, nextCursor: null }),
    ];
    for (const page of pages) {
      const expected = writePage({ items: page.items.map(toTaskDto), total: page.total, limit: page.limit, offset: page.offset, next_cursor: page.nextCursor });
      expect(json.page(page)).toBe(expected);
      expect(json.page(page)).toBe(expected); // again, from what it kept
    }
  });

  it('writes a task again when its version changes, and shows the change', () => {
    const json = new TaskJson();
    const task = aTask({ title: 'Before' });
    expect(JSON.parse(json.of(task))).toMatchObject({ title: 'Before', version: 1 });

    const changed = { ...task, title: 'After', version: 2, updatedAt: new Date('2026-11-23T10:00:00.000Z') };
    expect(JSON.parse(json.of(changed))).toMatchObject({ title: 'After', version: 2, updated_at: '2026-11-23T10:00:00.000Z' });
  });

  it('keeps no more than its budget allows, however many tasks pass through it', () => {
    const budget = 10_000;
    const json = new TaskJson(budget);
    const tasks = Array.from({ length: 1_000 }, () => aTask());
    const one = json.of(tasks[0]!).length;
    for (const task of tasks) json.of(task);
    expect(json.size).toBeLessThanOrEqual(Math.ceil(budget / one) + 1);
    // What it dropped is written again, the same.
    expect(json.of(tasks[0]!)).toBe(serializerFor(TaskDto)(toTaskDto(tasks[0]!)));
  });
});
