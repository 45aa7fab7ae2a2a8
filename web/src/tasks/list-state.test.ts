import { describe, expect, it } from 'vitest';
import type { Task, TaskPage } from '../api/types';
import { DEFAULT_QUERY, compare, emptyList, matches, withPage, withTask, withoutTask, type ListQuery } from './list-state';

let nextId = 1;
function aTask(overrides: Partial<Task> = {}): Task {
  const id = overrides.id ?? nextId++;
  const created = `2026-01-01T00:00:${String(id % 60).padStart(2, '0')}.000Z`;
  return {
    id,
    user_id: 1,
    title: `Task ${id}`,
    description: '',
    status: 'todo',
    completed: false,
    priority: 'medium',
    due_date: null,
    remind_at: null,
    tags: [],
    completed_at: null,
    created_at: created,
    updated_at: created,
    version: 1,
    ...overrides,
  } as Task;
}
const page = (items: Task[], next_cursor: string | null = null, total = items.length): TaskPage => ({ items, total, limit: 50, offset: null, next_cursor }) as TaskPage;
const ids = (tasks: Task[]) => tasks.map((task) => task.id);
const query = (overrides: Partial<ListQuery> = {}): ListQuery => ({ ...DEFAULT_QUERY, ...overrides });

describe('the order of the list, as the server sorts', () => {
  it('puts tasks without a due date last in both directions', () => {
    const [a, b, none] = [aTask({ due_date: '2026-02-01T00:00:00.000Z' }), aTask({ due_date: '2026-03-01T00:00:00.000Z' }), aTask()];
    expect(ids([none, b, a].sort((x, y) => compare(x, y, 'due_date')))).toEqual([a.id, b.id, none.id]);
    expect(ids([none, a, b].sort((x, y) => compare(x, y, '-due_date')))).toEqual([b.id, a.id, none.id]);
  });

  it('ranks priorities low < medium < high < urgent, and breaks ties by id in the same direction', () => {
    const [urgent, low, high1, high2] = [aTask({ priority: 'urgent' }), aTask({ priority: 'low' }), aTask({ priority: 'high' }), aTask({ priority: 'high' })];
    expect(ids([high2, urgent, low, high1].sort((x, y) => compare(x, y, '-priority')))).toEqual([urgent.id, high2.id, high1.id, low.id]);
    expect(ids([high2, urgent, low, high1].sort((x, y) => compare(x, y, 'priority')))).toEqual([low.id, high1.id, high2.id, urgent.id]);
  });

  it('compares titles without regard to case', () => {
    const [b, a] = [aTask({ title: 'banana' }), aTask({ title: 'Apple' })];
    expect(ids([b, a].sort((x, y) => compare(x, y, 'title')))).toEqual([a.id, b.id]);
  });
});

describe('the filter of the list, for tasks that arrive by event', () => {
  it('matches status, every tag given and a case-insensitive part of the title', () => {
    const task = aTask({ title: 'Buy MILK', tags: ['home', 'errands'], status: 'in_progress' });
    expect(matches(task, query({ status: 'in_progress', tag: 'home', q: 'milk' }))).toBe(true);
    expect(matches(task, query({ status: 'done' }))).toBe(false);
    expect(matches(task, query({ tag: 'work' }))).toBe(false);
    expect(matches(task, query({ q: 'bread' }))).toBe(false);
  });
});

describe('pages and live events together', () => {
  it('shows a page in the server order and extends it with the next one', () => {
    const [a, b, c] = [aTask(), aTask(), aTask()];
    let state = withPage(emptyList(DEFAULT_QUERY), page([c, b], 'next', 3), true);
    expect(ids(state.items)).toEqual([c.id, b.id]);
    state = withPage(state, page([a], null, 3), false);
    expect(ids(state.items)).toEqual([c.id, b.id, a.id]);
    expect(state.nextCursor).toBeNull();
  });

  it('never shows a task twice, whether it came by event, by page, or both', () => {
    const task = aTask();
    let state = withPage(emptyList(DEFAULT_QUERY), page([]), true);
    state = withTask(state, task, true);
    state = withTask(state, task, true);
    state = withPage(state, page([task]), false);
    expect(ids(state.items)).toEqual([task.id]);
    expect(state.total).toBe(1);
  });

  it('keeps the newer version, whichever arrives last', () => {
    const v1 = aTask({ title: 'old' });
    const v2 = { ...v1, title: 'new', version: 2 };
    const eventFirst = withPage(withTask(emptyList(DEFAULT_QUERY), v2), page([v1]), true);
    expect(eventFirst.items.map((task) => task.title)).toEqual(['new']);
    const pageFirst = withTask(withPage(emptyList(DEFAULT_QUERY), page([v2]), true), v1);
    expect(pageFirst.items.map((task) => task.title)).toEqual(['new']);
  });

  it('does not bring back a deleted task from a page loaded before the deletion', () => {
    const task = aTask();
    const state = withPage(withoutTask(emptyList(DEFAULT_QUERY), task.id), page([task]), true);
    expect(state.items).toEqual([]);
    expect(withTask(state, { ...task, version: 2 }).items).toEqual([]);
  });

  it('drops a changed task that no longer matches the filter', () => {
    const task = aTask({ status: 'todo' });
    const state = withPage(emptyList(query({ status: 'todo' })), page([task]), true);
    const changed = withTask(state, { ...task, status: 'done', completed: true, version: 2 });
    expect(changed.items).toEqual([]);
    expect(changed.total).toBe(0);
  });

  it('leaves a new task that sorts past the loaded pages to a later page', () => {
    const [first, second] = [aTask({ title: 'a' }), aTask({ title: 'b' })];
    const state = withPage(emptyList(query({ sort: 'title' })), page([first, second], 'more', 10), true);
    expect(ids(withTask(state, aTask({ title: 'zzz' }), true).items)).toEqual([first.id, second.id]);
    const early = aTask({ title: 'aa' });
    expect(ids(withTask(state, early, true).items)).toEqual([first.id, early.id, second.id]);
  });
});
