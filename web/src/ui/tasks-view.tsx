import { Component, type TargetedSubmitEvent } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, authorized } from '../api/client';
import { messageOf } from '../api/problem';
import type { Sort, Status, Task } from '../api/types';
import type { EventHub, LiveMessage } from '../live/event-hub';
import { DEFAULT_QUERY, emptyList, withPage, withTask, withoutTask, type ListQuery, type ListState } from '../tasks/list-state';
import { EditDialog } from './edit-dialog';
import { Alert } from './feedback';
import { GeneratePanel } from './generate-panel';
import { STATUSES, TaskFields, dayOf, priorityLabel, statusLabel, taskFieldsOf } from './task-fields';

const PAGE_SIZE = 50;
const SORTS: ReadonlyArray<[Sort, string]> = [
  ['-created_at', 'Newest first'],
  ['created_at', 'Oldest first'],
  ['-updated_at', 'Recently changed'],
  ['due_date', 'Due date'],
  ['-priority', 'Priority'],
  ['title', 'Title'],
];

/** Waits for `value` to stay unchanged for `ms` (typing in the search box asks the server once). */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * Calls `onNear` when the element comes within two screens of the viewport: scrolling down asks
 * for the next page before the person reaches the end. The observer is made again whenever `key`
 * changes (each page has a new cursor), and a new observer reports at once, so a screen tall
 * enough to show the end after a page still loads the next one.
 */
function useLoadWhenNear<T extends Element>(key: unknown, onNear: () => void) {
  const element = useRef<T>(null);
  const latest = useRef(onNear);
  latest.current = onNear;
  useEffect(() => {
    const target = element.current;
    if (!target || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver((entries) => entries.some((entry) => entry.isIntersecting) && latest.current(), { rootMargin: '200% 0px' });
    observer.observe(target);
    return () => observer.disconnect();
  }, [key]);
  return element;
}

export function TasksView({ hub, ready }: { hub: EventHub; ready: () => Promise<void> }) {
  const [search, setSearch] = useState('');
  const [tag, setTag] = useState('');
  const [status, setStatus] = useState<Status | ''>('');
  const [sort, setSort] = useState<Sort>(DEFAULT_QUERY.sort);
  const settledSearch = useSettled(search, 250);
  const settledTag = useSettled(tag.trim(), 250);

  const [list, setList] = useState<ListState>(() => emptyList(DEFAULT_QUERY));
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** A page of the list that could not be loaded, and how to ask for it again (a 429 or a 503 passes). */
  const [listFailure, setListFailure] = useState<{ message: string; retry: () => void } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Task | null>(null);
  const [listening, setListening] = useState(false);
  const current = useRef(list);
  current.current = list;
  /** The cursor of the next page while it is being fetched: scrolling and the button ask for it once. */
  const pageInFlight = useRef<string | null>(null);

  const query: ListQuery = { status: status || null, tag: settledTag || null, q: settledSearch, sort };
  const queryKey = JSON.stringify(query);

  const loadPage = useCallback(async (state: ListState, first: boolean): Promise<void> => {
    if (!first) {
      if (pageInFlight.current === state.nextCursor) return;
      pageInFlight.current = state.nextCursor;
    }
    setLoading(true);
    setListFailure(null);
    try {
      const { query: q } = state;
      const page = await authorized(() =>
        api.GET('/tasks', {
          params: {
            query:
              !first && state.nextCursor
                ? { cursor: state.nextCursor, limit: PAGE_SIZE }
                : { limit: PAGE_SIZE, sort: q.sort, ...(q.status ? { status: [q.status] } : {}), ...(q.tag ? { tag: [q.tag] } : {}), ...(q.q.trim() ? { q: q.q.trim() } : {}) },
          },
        }),
      );
      // A page of a query the person has since changed is dropped.
      setList((latest) => (JSON.stringify(latest.query) === JSON.stringify(q) ? withPage(latest, page, first) : latest));
    } catch (caught) {
      setListFailure({ message: messageOf(caught), retry: () => void loadPage(state, first) });
    } finally {
      if (!first && pageInFlight.current === state.nextCursor) pageInFlight.current = null;
      setLoading(false);
    }
  }, []);
  const loadMore = () => {
    if (list.nextCursor && !loading) void loadPage(list, false);
  };
  const more = useLoadWhenNear<HTMLButtonElement>(list.nextCursor, loadMore);

  // Live changes first, then the list: whatever is committed once the stream is live reaches the page.
  useEffect(() => {
    const unsubscribe = hub.subscribe((message: LiveMessage) => {
      if (message === 'resync') {
        const fresh = emptyList(current.current.query);
        setList(fresh);
        void loadPage(fresh, true);
        return;
      }
      const data = message.data as { task?: Task; id?: number };
      if ((message.type === 'task.created' || message.type === 'task.updated') && data.task) setList((state) => withTask(state, data.task!, message.type === 'task.created'));
      else if (message.type === 'task.deleted' && typeof data.id === 'number') setList((state) => withoutTask(state, data.id!));
    });
    let waiting = true;
    // The list is not held back for ever by a stream that cannot connect.
    const fallback = setTimeout(() => waiting && setListening(true), 3_000);
    void ready().then(() => {
      waiting = false;
      setListening(true);
    });
    return () => {
      clearTimeout(fallback);
      unsubscribe();
    };
  }, [hub, ready, loadPage]);

  useEffect(() => {
    if (!listening) return;
    const fresh = emptyList(query);
    setList(fresh);
    void loadPage(fresh, true);
    // queryKey stands for the query's value: a new object each render, the same query as before.
  }, [queryKey, listening, loadPage]);

  const act = useCallback(async (work: () => Promise<void>) => {
    setError(null);
    setNotice(null);
    try {
      await work();
    } catch (caught) {
      setError(messageOf(caught));
    }
  }, []);

  const create = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const fields = taskFieldsOf(form);
    await act(async () => {
      const task = await authorized(() => api.POST('/tasks', { body: fields, headers: { 'idempotency-key': crypto.randomUUID() } }));
      setList((state) => withTask(state, task, true));
      form.reset();
      setNotice(`Added “${task.title}”.`);
      (form.elements.namedItem('title') as HTMLInputElement).focus();
    });
  };

  // Stable callbacks: a list item re-renders only when its task changed (see TaskItem).
  const toggle = useCallback(
    (task: Task, done: boolean) =>
      act(async () => {
        // Shown at once (the server's answer, one version higher, replaces it), put back if refused.
        setList((state) => withTask(state, { ...task, status: done ? 'done' : 'todo', completed: done }));
        try {
          const changed = await authorized(() => api.PATCH('/tasks/{id}', { params: { path: { id: task.id } }, body: { status: done ? 'done' : 'todo' } }));
          setList((state) => withTask(state, changed));
        } catch (caught) {
          setList((state) => withTask(state, task));
          throw caught;
        }
      }),
    [act],
  );

  const remove = useCallback(
    (task: Task) =>
      act(async () => {
        await authorized(() => api.DELETE('/tasks/{id}', { params: { path: { id: task.id } } }));
        setList((state) => withoutTask(state, task.id));
        setNotice(`Deleted “${task.title}”.`);
        document.getElementById('search')?.focus();
      }),
    [act],
  );

  const shown = list.items;
  const hasFilters = query.status !== null || query.tag !== null || query.q.trim() !== '';

  return (
    <>
      <main class="tasks">
        <h1>Your tasks</h1>
        <form class="card new-task" aria-label="New task" onSubmit={create}>
          <TaskFields idPrefix="new" />
          <button type="submit" class="primary">
            Add task
          </button>
        </form>
        <GeneratePanel onCreated={(task) => setList((state) => withTask(state, task, true))} />

        <form class="filters" role="search" aria-label="Filter tasks" onSubmit={(event) => event.preventDefault()}>
          <div class="grow">
            <label for="search">Search</label>
            <input id="search" type="search" value={search} onInput={(event) => setSearch(event.currentTarget.value)} placeholder="Words in the title" />
          </div>
          <div>
            <label for="filter-status">Filter by status</label>
            <select id="filter-status" value={status} onChange={(event) => setStatus(event.currentTarget.value as Status | '')}>
              <option value="">Any status</option>
              {STATUSES.map(([value, label]) => (
                <option value={value} key={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="filter-tag">Filter by tag</label>
            <input id="filter-tag" value={tag} onInput={(event) => setTag(event.currentTarget.value)} />
          </div>
          <div>
            <label for="sort">Sort by</label>
            <select id="sort" value={sort} onChange={(event) => setSort(event.currentTarget.value as Sort)}>
              {SORTS.map(([value, label]) => (
                <option value={value} key={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
        </form>

        <div aria-live="polite" class="messages">
          {notice && <p class="notice">{notice}</p>}
        </div>
        <Alert message={error} />
        {listFailure && (
          <div class="list-failure">
            <Alert message={listFailure.message} />
            <button type="button" onClick={listFailure.retry}>
              Try again
            </button>
          </div>
        )}

        <p class="count" role="status">
          {!list.loaded ? (listFailure ? 'Your tasks could not be loaded.' : 'Loading tasks…') : list.total === 0 ? (hasFilters ? 'No task matches.' : 'No tasks yet. Add one above.') : `Showing ${shown.length} of ${list.total ?? shown.length}`}
        </p>
        <ul class="task-list" aria-label="Tasks" aria-busy={loading}>
          {shown.map((task) => (
            <TaskItem key={task.id} task={task} onToggle={toggle} onEdit={setEditing} onDelete={remove} />
          ))}
        </ul>
        {list.nextCursor && (
          <button type="button" class="more" ref={more} disabled={loading} onClick={loadMore}>
            {loading ? 'Loading…' : 'Load more tasks'}
          </button>
        )}
      </main>
      {editing && (
        <EditDialog
          task={list.items.find((task) => task.id === editing.id) ?? editing}
          hub={hub}
          onClose={() => setEditing(null)}
          onSaved={(task) => {
            setList((state) => withTask(state, task));
            setEditing(null);
            setNotice(`Saved “${task.title}”.`);
          }}
        />
      )}
    </>
  );
}

interface TaskItemProps {
  task: Task;
  onToggle: (task: Task, done: boolean) => void;
  onEdit: (task: Task) => void;
  onDelete: (task: Task) => void;
}

/**
 * One task of the list. It renders again only when one of its props changed: with thousands of
 * tasks loaded, typing in the search box or an event for one task re-renders one item, not all.
 */
class TaskItem extends Component<TaskItemProps> {
  override shouldComponentUpdate(next: TaskItemProps): boolean {
    const props = this.props;
    return next.task !== props.task || next.onToggle !== props.onToggle || next.onEdit !== props.onEdit || next.onDelete !== props.onDelete;
  }

  override render() {
    return <TaskRow {...this.props} />;
  }
}

function TaskRow({ task, onToggle, onEdit, onDelete }: TaskItemProps) {
  const done = task.status === 'done';
  return (
    <li class={`task${done ? ' done' : ''}`}>
      <input type="checkbox" checked={done} aria-label={`Done: ${task.title}`} onChange={(event) => onToggle(task, event.currentTarget.checked)} />
      <div class="task-main">
        <span class="title">{task.title}</span>
        {task.description && <p class="description">{task.description}</p>}
        <p class="meta">
          <span class={`badge status-${task.status}`}>{statusLabel(task.status)}</span>
          <span class={`badge priority-${task.priority}`}>{priorityLabel(task.priority)} priority</span>
          {task.due_date && <span class="badge">Due {dayOf(task.due_date)}</span>}
          {task.tags.map((tag) => (
            <span class="tag" key={tag}>
              #{tag}
            </span>
          ))}
        </p>
      </div>
      <div class="actions">
        <button type="button" aria-label={`Edit ${task.title}`} onClick={() => onEdit(task)}>
          Edit
        </button>
        <button type="button" class="danger" aria-label={`Delete ${task.title}`} onClick={() => onDelete(task)}>
          Delete
        </button>
      </div>
    </li>
  );
}
