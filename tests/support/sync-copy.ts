/** A task as the HTTP API shows it. */
export interface TaskBody {
  id: number;
  title: string;
  version: number;
  [field: string]: unknown;
}

/** A page of GET /sync. */
export interface SyncBody {
  tasks: TaskBody[];
  deleted: Array<{ id: number; deleted_at: string }>;
  sync_token: string;
  has_more: boolean;
  full_sync: boolean;
}

export const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;

/** Asks for one page of GET /sync with this query (limit, since). */
export type SyncPageFetcher = (query: Record<string, string>) => Promise<SyncBody>;

/**
 * An offline client's copy of its tasks over HTTP, kept as docs/events.md says: a first page of a
 * full sync replaces the copy, every page upserts its tasks and drops its tombstones, and the
 * next request resumes from the page's token.
 */
export class SyncCopy {
  readonly copy = new Map<number, TaskBody>();
  token: string | undefined;

  constructor(private readonly fetchPage: SyncPageFetcher) {}

  apply(page: SyncBody): SyncBody {
    if (page.full_sync) this.copy.clear();
    for (const task of page.tasks) this.copy.set(task.id, task);
    for (const { id } of page.deleted) this.copy.delete(id);
    this.token = page.sync_token;
    return page;
  }

  async page(limit: number): Promise<SyncBody> {
    return this.apply(await this.fetchPage({ limit: String(limit), ...(this.token ? { since: this.token } : {}) }));
  }

  /** Pages until has_more is false; returns every page. */
  async untilDone(limit: number): Promise<SyncBody[]> {
    const pages = [await this.page(limit)];
    while (pages[pages.length - 1]!.has_more) pages.push(await this.page(limit));
    return pages;
  }

  /** The copy in id order, to compare with the server's tasks. */
  tasks(): TaskBody[] {
    return [...this.copy.values()].sort(byId);
  }
}
