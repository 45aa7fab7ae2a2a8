import { describe, expect, it } from 'vitest';
import { ValidationError, applyTaskPatch, newTaskState, parseTaskInput, reviseTask, type TaskFields } from '../../../src/domain/index.js';
import { aTask, aTaskInput } from '../../support/task-builders.js';

const fieldsOfError = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.fieldErrors.map((e) => e.field);
    throw error;
  }
  throw new Error('expected a ValidationError');
};

describe('task fields', () => {
  it('fills defaults and trims', () => {
    expect(parseTaskInput({ title: '  Report ' })).toEqual({ title: 'Report', description: '', status: 'todo', priority: 'medium', dueDate: null, remindAt: null, tags: [] });
  });

  it('counts code points, not UTF-16 units', () => {
    expect(parseTaskInput({ title: '😀'.repeat(200) }).title).toHaveLength(400);
    expect(fieldsOfError(() => parseTaskInput({ title: '😀'.repeat(201) }))).toEqual(['title']);
  });

  it('reports every invalid field at once', () => {
    expect(
      fieldsOfError(() => parseTaskInput({ title: '', description: 'x'.repeat(10_001), priority: 'huge' as never, tags: ['a', ''], dueDate: 'soon' })),
    ).toEqual(['title', 'description', 'priority', 'due_date', 'tags.1']);
  });

  it('takes completed as a shorthand and refuses only a real contradiction', () => {
    expect(parseTaskInput(aTaskInput({ completed: true })).status).toBe('done');
    expect(parseTaskInput(aTaskInput({ completed: false })).status).toBe('todo');
    expect(parseTaskInput(aTaskInput({ completed: false, status: 'in_progress' })).status).toBe('in_progress');
    expect(fieldsOfError(() => parseTaskInput(aTaskInput({ completed: true, status: 'in_progress' })))).toEqual(['completed']);
    expect(fieldsOfError(() => parseTaskInput(aTaskInput({ completed: false, status: 'done' })))).toEqual(['completed']);
  });

  it('merges duplicate tags in first-seen order and bounds the distinct ones', () => {
    expect(parseTaskInput(aTaskInput({ tags: ['b', ' a', 'b', 'a '] })).tags).toEqual(['b', 'a']);
    const twenty = Array.from({ length: 20 }, (_, i) => `t${i}`);
    expect(parseTaskInput(aTaskInput({ tags: [...twenty, ...twenty] })).tags).toEqual(twenty);
    expect(fieldsOfError(() => parseTaskInput(aTaskInput({ tags: [...twenty, 'one more'] })))).toEqual(['tags']);
    expect(fieldsOfError(() => parseTaskInput(aTaskInput({ tags: ['x'.repeat(51)] })))).toEqual(['tags.0']);
  });

  it('reads due dates with an offset as the instant in UTC, within years 1 to 9999', () => {
    expect(parseTaskInput(aTaskInput({ dueDate: '2026-12-01T17:00:00+02:00' })).dueDate?.toISOString()).toBe('2026-12-01T15:00:00.000Z');
    expect(parseTaskInput(aTaskInput({ dueDate: null })).dueDate).toBeNull();
    for (const bad of ['2026-12-01', '2026-12-01T10:00:00', '2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z', 'tomorrow']) {
      expect(fieldsOfError(() => parseTaskInput(aTaskInput({ dueDate: bad })))).toEqual(['due_date']);
    }
  });

  it('reads remind_at as it reads due dates, naming remind_at when it is not one', () => {
    expect(parseTaskInput(aTaskInput({ remindAt: '2026-12-01T17:00:00+02:00' })).remindAt?.toISOString()).toBe('2026-12-01T15:00:00.000Z');
    expect(parseTaskInput(aTaskInput()).remindAt).toBeNull();
    for (const bad of ['2026-12-01', '2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z', 'tomorrow']) {
      expect(fieldsOfError(() => parseTaskInput(aTaskInput({ remindAt: bad })))).toEqual(['remind_at']);
    }
  });

  it('applies a merge patch: absent keeps, null clears due_date and remind_at and is refused elsewhere', () => {
    const current: TaskFields = {
      title: 'T', description: 'D', status: 'done', priority: 'high', dueDate: new Date('2026-01-01T00:00:00Z'), remindAt: new Date('2025-12-31T09:00:00Z'), tags: ['a'],
    };
    expect(applyTaskPatch(current, {})).toEqual(current);
    expect(applyTaskPatch(current, { dueDate: null })).toEqual({ ...current, dueDate: null });
    expect(applyTaskPatch(current, { remindAt: null })).toEqual({ ...current, remindAt: null });
    expect(applyTaskPatch(current, { completed: false })).toEqual({ ...current, status: 'todo' });
    for (const field of ['title', 'description', 'status', 'completed', 'priority', 'tags'] as const) {
      expect(fieldsOfError(() => applyTaskPatch(current, { [field]: null } as never))).toEqual([field]);
    }
  });
});

describe('task versions and completion', () => {
  const now = new Date('2026-11-23T08:00:00.000Z');

  it('starts at version 1 with completed_at only when done', () => {
    expect(newTaskState(1, parseTaskInput(aTaskInput()), now)).toMatchObject({ version: 1, completedAt: null, createdAt: now, updatedAt: now });
    expect(newTaskState(1, parseTaskInput(aTaskInput({ completed: true })), now).completedAt).toEqual(now);
  });

  it('changes nothing, not even the version, when the fields are the same', () => {
    const task = aTask({ tags: ['a'], dueDate: new Date('2026-01-01T00:00:00Z'), remindAt: new Date('2025-12-31T09:00:00Z') });
    expect(reviseTask(task, { ...task, tags: ['a'], dueDate: new Date('2026-01-01T00:00:00Z'), remindAt: new Date('2025-12-31T09:00:00Z') }, now)).toBeNull();
  });

  it('counts a new remind_at as a change', () => {
    const task = aTask({ remindAt: new Date('2025-12-31T09:00:00Z') });
    expect(reviseTask(task, { ...task, remindAt: new Date('2025-12-31T10:00:00Z') }, now)).toMatchObject({ version: 2 });
    expect(reviseTask(task, { ...task, remindAt: null }, now)).toMatchObject({ version: 2, remindAt: null });
  });

  it('grows the version by one and moves completed_at with the status', () => {
    const task = aTask();
    const done = reviseTask(task, { ...task, status: 'done' }, now)!;
    expect(done).toMatchObject({ version: 2, completedAt: now, updatedAt: now, createdAt: task.createdAt });
    const later = new Date(now.getTime() + 1000);
    const renamed = reviseTask(done, { ...done, title: 'New' }, later)!;
    expect(renamed).toMatchObject({ version: 3, completedAt: now });
    expect(reviseTask(renamed, { ...renamed, status: 'in_progress' }, later)).toMatchObject({ version: 4, completedAt: null });
  });
});
