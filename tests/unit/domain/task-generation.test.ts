import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TASK_PRIORITIES,
  ValidationError,
  draftsFromAnswer,
  parseGenerationInput,
  parseTaskInput,
  type GenerationInput,
  type TaskDraft,
} from '../../../src/domain/index.js';

/** The fields a validation error names; none when the input passed. */
function refusedFields(input: GenerationInput): string[] {
  try {
    parseGenerationInput(input);
  } catch (error) {
    if (error instanceof ValidationError) return error.fieldErrors.map((e) => e.field);
    throw error;
  }
  return [];
}

const answer = (items: unknown[]): string => JSON.stringify({ tasks: items });
const titles = (drafts: TaskDraft[]): string[] => drafts.map((d) => d.title);

/** A draft with every default, as POST /tasks fills a body holding only a title. */
const plain = (title: string): TaskDraft => ({ title, description: '', priority: 'medium', dueDate: null, tags: [] });

describe('parseGenerationInput', () => {
  it('defaults to five tasks, saved', () => {
    expect(parseGenerationInput({ prompt: 'Plan a party' })).toEqual({ prompt: 'Plan a party', maxTasks: 5, save: true });
    expect(parseGenerationInput({ prompt: 'Plan a party', maxTasks: 20, save: false })).toEqual({ prompt: 'Plan a party', maxTasks: 20, save: false });
  });

  it('trims the prompt, and refuses one that is only blanks', () => {
    expect(parseGenerationInput({ prompt: '  \n Plan a party\t ' }).prompt).toBe('Plan a party');
    expect(refusedFields({ prompt: ' \n\t ' })).toEqual(['prompt']);
  });

  it('counts the prompt in code points: 1 and 2000 pass, 0 and 2001 do not, emoji included', () => {
    for (const unit of ['a', '😀']) {
      expect(parseGenerationInput({ prompt: unit }).prompt).toBe(unit);
      expect(parseGenerationInput({ prompt: unit.repeat(2000) }).prompt).toBe(unit.repeat(2000));
      expect(refusedFields({ prompt: unit.repeat(2001) })).toEqual(['prompt']);
    }
    expect(refusedFields({ prompt: '' })).toEqual(['prompt']);
    // 2000 emoji are 4000 UTF-16 units: still within the limit.
    expect('😀'.repeat(2000).length).toBe(4000);
  });

  it('takes max_tasks from 1 to 20, whole numbers only', () => {
    expect(parseGenerationInput({ prompt: 'x', maxTasks: 1 }).maxTasks).toBe(1);
    expect(parseGenerationInput({ prompt: 'x', maxTasks: 20 }).maxTasks).toBe(20);
    for (const maxTasks of [0, 21, 2.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(refusedFields({ prompt: 'x', maxTasks }), String(maxTasks)).toEqual(['max_tasks']);
    }
  });

  it('reports every failing field at once', () => {
    expect(refusedFields({ prompt: '', maxTasks: 0, save: 'yes' as unknown as boolean })).toEqual(['prompt', 'max_tasks', 'save']);
    expect(refusedFields({ prompt: undefined as unknown as string, maxTasks: 21 })).toEqual(['prompt', 'max_tasks']);
  });
});

describe('draftsFromAnswer', () => {
  it('takes the items of { tasks: [...] } and of a top-level array', () => {
    expect(draftsFromAnswer(answer([{ title: 'A' }, { title: 'B' }]), 5)).toEqual([plain('A'), plain('B')]);
    expect(draftsFromAnswer(JSON.stringify([{ title: 'A' }]), 5)).toEqual([plain('A')]);
  });

  it('finds nothing in an answer that is not JSON or holds no list of tasks', () => {
    for (const content of [null, '', 'Sure! Here are your tasks:', '```json\n{"tasks":[{"title":"A"}]}\n```', '{"tasks": [', 'null', '{}', '{"tasks":"x"}', '{"tasks":null}', '{"items":[{"title":"A"}]}', '"A"', '42', 'true']) {
      expect(draftsFromAnswer(content, 5), String(content)).toEqual([]);
    }
  });

  it('drops the fields a client cannot set and unknown ones, and keeps the item', () => {
    const hostile = {
      title: 'Pay the rent',
      id: 7,
      user_id: 2,
      owner: 'bob',
      userId: 2,
      status: 'done',
      completed: true,
      version: 99,
      remind_at: '2026-12-01T09:00:00Z',
      created_at: '2001-01-01T00:00:00Z',
      updated_at: '2001-01-01T00:00:00Z',
      completed_at: '2001-01-01T00:00:00Z',
      dueDate: 'not looked at either',
      extra: { nested: [1, 2, 3] },
    };
    const [draft] = draftsFromAnswer(answer([hostile]), 5);
    expect(draft).toStrictEqual(plain('Pay the rent'));
  });

  it('keeps an item whose forbidden fields are not even valid values, since they are never read', () => {
    expect(draftsFromAnswer(answer([{ title: 'A', status: 'exploded', version: 'x', remind_at: 'tomorrow', user_id: null }]), 5)).toStrictEqual([plain('A')]);
  });

  it('reads a null optional field as not given', () => {
    expect(draftsFromAnswer(answer([{ title: 'A', description: null, priority: null, due_date: null, tags: null }]), 5)).toStrictEqual([plain('A')]);
  });

  it('validates the fields it keeps as POST /tasks does: trimmed title, tags merged, due date an instant', () => {
    const [draft] = draftsFromAnswer(
      answer([{ title: '  Buy milk \n', description: ' two litres ', priority: 'high', due_date: '2026-12-01T10:00:00+02:00', tags: [' shop', 'shop ', 'home', 'shop'] }]),
      5,
    );
    expect(draft).toStrictEqual({ title: 'Buy milk', description: 'two litres', priority: 'high', dueDate: new Date('2026-12-01T08:00:00.000Z'), tags: ['shop', 'home'] });
  });

  it('accepts a 200-character title and 20 tags, the limits of a created task', () => {
    const title = '😀'.repeat(200);
    const tags = Array.from({ length: 20 }, (_, i) => `t${i}`);
    expect(draftsFromAnswer(answer([{ title, tags }]), 5)).toStrictEqual([{ ...plain(title), tags }]);
  });

  it('drops each invalid item and keeps its valid neighbours', () => {
    const invalid: Array<[string, unknown]> = [
      ['no title', { description: 'x' }],
      ['null title', { title: null }],
      ['numeric title', { title: 5 }],
      ['blank title', { title: '   ' }],
      ['201-character title', { title: 'x'.repeat(201) }],
      ['unknown priority', { title: 'A', priority: 'critical' }],
      ['numeric priority', { title: 'A', priority: 1 }],
      ['due date in words', { title: 'A', due_date: 'tomorrow' }],
      ['due date that does not exist', { title: 'A', due_date: '2026-02-30T10:00:00Z' }],
      ['due date without an offset', { title: 'A', due_date: '2026-12-01T10:00:00' }],
      ['numeric due date', { title: 'A', due_date: 1764583200000 }],
      ['21 tags', { title: 'A', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }],
      ['non-string tag', { title: 'A', tags: ['ok', 3] }],
      ['blank tag', { title: 'A', tags: [' '] }],
      ['tags as a string', { title: 'A', tags: 'work' }],
      ['numeric description', { title: 'A', description: 5 }],
      ['description as an object', { title: 'A', description: { text: 'x' } }],
      ['10,001-character description', { title: 'A', description: 'd'.repeat(10_001) }],
      ['a string', 'Buy milk'],
      ['a number', 42],
      ['null', null],
      ['an array', [{ title: 'A' }]],
    ];
    for (const [what, item] of invalid) {
      expect(titles(draftsFromAnswer(answer([{ title: 'first' }, item, { title: 'last' }]), 5)), what).toEqual(['first', 'last']);
      expect(draftsFromAnswer(answer([item]), 5), what).toEqual([]);
    }
  });

  it('drops an item carrying as many distinct tags as the largest answer the adapter reads holds', () => {
    // About 1 MiB: merging them must not take seconds (it once searched the list for every tag).
    const tags = Array.from({ length: 150_000 }, (_, i) => i.toString(36));
    expect(titles(draftsFromAnswer(answer([{ title: 'flood', tags }, { title: 'kept' }]), 5))).toEqual(['kept']);
  });

  it('keeps at most maxTasks: the first valid items, in order', () => {
    const items = [{ title: '' }, { title: 'one' }, { priority: 'low' }, { title: 'two' }, { title: 'three' }, { title: 'four' }, { title: 'five' }];
    expect(titles(draftsFromAnswer(answer(items), 3))).toEqual(['one', 'two', 'three']);
    expect(titles(draftsFromAnswer(answer(items), 1))).toEqual(['one']);
    expect(titles(draftsFromAnswer(answer(items), 20))).toEqual(['one', 'two', 'three', 'four', 'five']);
  });

  describe('(property) whatever the model answers', () => {
    const rfc3339 = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString());
    const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary }, { weight: 1, arbitrary: fc.jsonValue() });
    // Shaped like a task often enough that valid items, and items just off valid, are common.
    const taskLike = fc.record(
      {
        title: maybe(fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 195, maxLength: 205 }) })),
        description: maybe(fc.oneof(fc.string(), fc.constant(null))),
        priority: maybe(fc.oneof(fc.constantFrom(...TASK_PRIORITIES), fc.constant(null))),
        due_date: maybe(fc.oneof(rfc3339, fc.constantFrom('0000-12-31T23:00:00-01:00', '9999-12-31T23:30:00-01:00', '2026-11-22 10:00:00+05:30', null))),
        tags: maybe(fc.oneof(fc.array(fc.constantFrom('a', ' a', 'b ', 'c', '😀', ''), { maxLength: 4 }), fc.array(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 25 }), fc.constant(null))),
        id: fc.jsonValue(),
        user_id: fc.jsonValue(),
        status: fc.jsonValue(),
      },
      { requiredKeys: ['title'] },
    );
    const content = fc.oneof(
      fc.array(fc.oneof(fc.jsonValue(), taskLike), { maxLength: 30 }).map((items) => JSON.stringify({ tasks: items })),
      fc.array(taskLike, { maxLength: 30 }).map((items) => JSON.stringify(items)),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.string(),
    );

    it('never throws, keeps at most maxTasks, and every draft is a task input that validates to itself', () => {
      fc.assert(
        fc.property(content, fc.integer({ min: 1, max: 20 }), (text, maxTasks) => {
          const drafts = draftsFromAnswer(text, maxTasks);
          expect(drafts.length).toBeLessThanOrEqual(maxTasks);
          for (const draft of drafts) {
            const { title, description, priority, dueDate, tags } = parseTaskInput({ ...draft, dueDate: draft.dueDate?.toISOString() ?? null });
            expect({ title, description, priority, dueDate, tags }).toStrictEqual(draft);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
