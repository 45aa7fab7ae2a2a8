import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListTasks, TASK_SORTS, type ListTasksQuery } from '../../src/application/index.js';
import { TASK_PRIORITIES, TASK_STATUSES, type Task, type TaskStatus } from '../../src/domain/index.js';
import { HmacCursorCodec } from '../../src/adapters/security/hmac-cursor-codec.js';
import { aPrincipal, aTask } from '../support/task-builders.js';
import { openTaskStores, storeKinds, type TaskStores } from '../support/task-stores.js';

const kinds = await storeKinds();
const codec = HmacCursorCodec.fromSecret('property-test-secret');

const BASE = Date.parse('2026-01-01T00:00:00.000Z');
const DUE_DATES = ['2025-12-31T23:59:59.999Z', '2026-01-01T00:00:00.000Z', '2026-03-01T12:00:00.000Z', '2027-01-01T00:00:00.000Z'];
const TAGS = ['p', 'q', 'r'];

// Few distinct values, so ties, equal titles up to case and undated tasks are common.
const taskSpec = fc.record({
  owner: fc.constantFrom(0, 0, 0, 1),
  title: fc
    .array(fc.constantFrom('a', 'A', 'b', 'é', 'É', 'z', '%', '_', '\\', '😀', 'x y', '\uFFFD'), { minLength: 1, maxLength: 3 })
    .map((parts) => parts.join('')),
  status: fc.constantFrom(...TASK_STATUSES),
  priority: fc.constantFrom(...TASK_PRIORITIES),
  due: fc.option(fc.constantFrom(...DUE_DATES), { nil: null }),
  tags: fc.subarray(TAGS),
  created: fc.integer({ min: 0, max: 4 }),
  updatedLater: fc.integer({ min: 0, max: 3 }),
});
type TaskSpec = typeof taskSpec extends fc.Arbitrary<infer T> ? T : never;

/** Usually absent: listings with every filter at once would match nothing. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

const listing = fc
  .record({
    sort: fc.option(fc.constantFrom(...TASK_SORTS), { nil: undefined }),
    status: sometimes(fc.subarray([...TASK_STATUSES], { minLength: 1 })),
    completed: sometimes(fc.boolean()),
    priority: sometimes(fc.subarray([...TASK_PRIORITIES], { minLength: 1 })),
    tag: sometimes(fc.subarray(TAGS, { minLength: 1 })),
    q: sometimes(fc.constantFrom('a', 'É', '%', '_', '\\', '😀', 'x y', 'zz')),
    due_before: sometimes(fc.constantFrom(...DUE_DATES)),
    due_after: sometimes(fc.constantFrom(...DUE_DATES)),
  })
  .map((query) => Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as Partial<typeof query>);
type Listing = typeof listing extends fc.Arbitrary<infer T> ? T : never;

/** An independent statement of the listing rules, to check every adapter against. */
function expectedOrder(tasks: Task[], userId: number, query: Listing): Task[] {
  const matches = tasks.filter(
    (t) =>
      t.userId === userId &&
      (!query.status || query.status.includes(t.status)) &&
      (query.completed === undefined || (t.status === 'done') === query.completed) &&
      (!query.priority || query.priority.includes(t.priority)) &&
      (!query.tag || query.tag.every((tag) => t.tags.includes(tag))) &&
      (query.q === undefined || t.title.toLowerCase().includes(query.q.toLowerCase())) &&
      (!query.due_before || (t.dueDate !== null && t.dueDate.getTime() < Date.parse(query.due_before))) &&
      (!query.due_after || (t.dueDate !== null && t.dueDate.getTime() >= Date.parse(query.due_after))),
  );
  const sort = query.sort ?? '-created_at';
  const descending = sort.startsWith('-');
  const key = sort.replace(/^-/, '');
  const value = (t: Task): number | Buffer | null => {
    if (key === 'created_at') return t.createdAt.getTime();
    if (key === 'updated_at') return t.updatedAt.getTime();
    if (key === 'due_date') return t.dueDate?.getTime() ?? null;
    if (key === 'priority') return TASK_PRIORITIES.indexOf(t.priority);
    return Buffer.from(t.title.toLowerCase(), 'utf8'); // UTF-8 byte order is code point order
  };
  return matches.sort((a, b) => {
    const [va, vb] = [value(a), value(b)];
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
    } else {
      const order = typeof va === 'number' ? va - (vb as number) : Buffer.compare(va, vb as Buffer);
      if (order !== 0) return descending ? -order : order;
    }
    return descending ? b.id - a.id : a.id - b.id;
  });
}

async function load(stores: TaskStores, owners: number[], specs: TaskSpec[]): Promise<Task[]> {
  await stores.clear();
  const stored: Task[] = [];
  for (const [index, spec] of specs.entries()) {
    const createdAt = new Date(BASE + spec.created * 1000);
    const { id: _id, ...task } = aTask({
      userId: owners[spec.owner]!,
      title: spec.title,
      description: `#${index}`,
      status: spec.status as TaskStatus,
      priority: spec.priority,
      dueDate: spec.due === null ? null : new Date(spec.due),
      tags: spec.tags,
      completedAt: spec.status === 'done' ? createdAt : null,
      createdAt,
      updatedAt: new Date(createdAt.getTime() + spec.updatedLater * 1500),
    });
    stored.push(await stores.tasks.create(task));
  }
  return stored;
}

/** Pages through a listing by cursor; later pages sometimes repeat the filters, which is allowed. */
async function walk(stores: TaskStores, userId: number, query: Listing, limit: number, repeat: boolean): Promise<{ seen: Task[]; totals: number[] }> {
  const list = new ListTasks(stores.tasks, codec);
  const principal = aPrincipal(userId);
  const base = { ...query } as Omit<ListTasksQuery, 'limit'>;
  let page = await list.execute(principal, { ...base, limit });
  const seen = [...page.items];
  const totals = [page.total];
  while (page.nextCursor) {
    expect(page.items).toHaveLength(limit);
    page = await list.execute(principal, { ...(repeat ? base : {}), limit, cursor: page.nextCursor });
    seen.push(...page.items);
    totals.push(page.total);
    if (seen.length > 200) throw new Error('the cursor does not advance');
  }
  return { seen, totals };
}

describe('listing by cursor (property)', () => {
  const stores: TaskStores[] = [];
  const owners = new Map<TaskStores, number[]>();

  beforeAll(async () => {
    for (const kind of kinds) {
      const opened = await openTaskStores(kind);
      stores.push(opened);
      owners.set(opened, [await opened.newUser(), await opened.newUser()]);
    }
  });
  afterAll(async () => {
    for (const opened of stores) await opened.close();
  });

  it(`returns every matching task exactly once, in order, on ${kinds.join(', ')} alike`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(taskSpec, { minLength: 4, maxLength: 30 }),
        listing,
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        async (specs, query, limit, repeat) => {
          const labelsByKind: string[][] = [];
          for (const opened of stores) {
            const [owner] = owners.get(opened)!;
            const stored = await load(opened, owners.get(opened)!, specs);
            const expected = expectedOrder(stored, owner!, query);
            const { seen, totals } = await walk(opened, owner!, query, limit, repeat);
            expect(seen.map((t) => t.id), opened.kind).toEqual(expected.map((t) => t.id));
            expect(new Set(totals), opened.kind).toEqual(new Set([expected.length]));
            labelsByKind.push(seen.map((t) => t.description));
          }
          for (const labels of labelsByKind) expect(labels).toEqual(labelsByKind[0]);
        },
      ),
      { numRuns: 80 },
    );
  }, 120_000);
});
