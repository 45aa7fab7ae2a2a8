import type { ComponentChildren } from 'preact';

/** A failure the person must read: shown as it happens and announced by screen readers. Nothing when `message` is null. */
export function Alert({ message }: { message: string | null }) {
  return message === null ? null : (
    <p role="alert" class="error">
      {message}
    </p>
  );
}

/**
 * A list the view fetched: a status line until it came (`items` null), `empty` when it holds
 * nothing, else the labelled list, each item rendered by `children`.
 */
export function FetchedList<T>({ items, loading, empty, label, listClass = 'task-list', children }: {
  items: readonly T[] | null;
  loading: string;
  empty: string;
  label: string;
  listClass?: string;
  children: (item: T) => ComponentChildren;
}) {
  if (items === null) return <p role="status">{loading}</p>;
  if (items.length === 0) return <p class="hint">{empty}</p>;
  return (
    <ul class={listClass} aria-label={label}>
      {items.map(children)}
    </ul>
  );
}
