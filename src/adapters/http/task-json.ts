import fastJsonStringify from 'fast-json-stringify';
import type { TaskListPage } from '../../application/index.js';
import type { Task } from '../../domain/index.js';
import { TaskDto } from './schemas/task-schemas.js';
import { toTaskDto } from './task-mappers.js';

interface Entry {
  version: number;
  json: string;
}

/** Characters of JSON kept, across both generations: at most ~8 MiB of strings. */
const DEFAULT_BUDGET = 4_000_000;

/**
 * Each task's JSON representation, written once per version of the task. A task's JSON is a
 * function of its id and version alone — every change raises the version, and ids are never
 * reused — so an entry can never go stale, whichever instance changed the task: the cache needs
 * a bound, never an invalidation. Writing a page of tasks was the largest part of a listing's
 * time on the event loop (mapping, timestamps, string escaping: ~17% of it); a page is now the
 * envelope around 20 strings, most of them written for an earlier request.
 *
 * The JSON comes from fast-json-stringify compiled for TaskDto, as Fastify's response serializer
 * would write it. Two generations bound the memory: when the newer one holds half the budget it
 * becomes the older and the old one is dropped; an entry found in the older moves back.
 */
export class TaskJson {
  private readonly write = fastJsonStringify(TaskDto) as (dto: TaskDto) => string;

  private recent = new Map<number, Entry>();

  private older = new Map<number, Entry>();

  private recentSize = 0;

  constructor(private readonly budget = DEFAULT_BUDGET) {}

  of(task: Task): string {
    const entry = this.recent.get(task.id);
    if (entry !== undefined && entry.version === task.version) return entry.json;
    const kept = this.older.get(task.id);
    const json = kept !== undefined && kept.version === task.version ? kept.json : this.write(toTaskDto(task));
    this.keep(task.id, { version: task.version, json });
    return json;
  }

  /** A TaskPage document: its envelope around the tasks' JSON. */
  page(page: TaskListPage): string {
    let items = '';
    for (const task of page.items) items += items === '' ? this.of(task) : `,${this.of(task)}`;
    const offset = page.offset === null ? 'null' : String(page.offset);
    const cursor = page.nextCursor === null ? 'null' : JSON.stringify(page.nextCursor);
    return `{"items":[${items}],"total":${page.total},"limit":${page.limit},"offset":${offset},"next_cursor":${cursor}}`;
  }

  /** Entries held, in both generations. */
  get size(): number {
    return this.recent.size + this.older.size;
  }

  private keep(id: number, entry: Entry): void {
    if (this.recentSize + entry.json.length > this.budget / 2) {
      this.older = this.recent;
      this.recent = new Map();
      this.recentSize = 0;
    }
    this.recent.set(id, entry);
    this.recentSize += entry.json.length;
  }
}
