import type { NewTask, Priority, Status, Task } from '../api/types';

export const STATUSES: ReadonlyArray<[Status, string]> = [
  ['todo', 'To do'],
  ['in_progress', 'In progress'],
  ['done', 'Done'],
];
export const PRIORITIES: ReadonlyArray<[Priority, string]> = [
  ['low', 'Low'],
  ['medium', 'Medium'],
  ['high', 'High'],
  ['urgent', 'Urgent'],
];

export const statusLabel = (status: Status): string => STATUSES.find(([value]) => value === status)?.[1] ?? status;
export const priorityLabel = (priority: Priority): string => PRIORITIES.find(([value]) => value === priority)?.[1] ?? priority;

/** Due dates are whole days: a date input's day at midnight UTC, shown back as that day. */
export const dueDateOf = (day: string): string | null => (day ? `${day}T00:00:00.000Z` : null);
export const dayOf = (dueDate: string | null): string => (dueDate ? dueDate.slice(0, 10) : '');

export const tagsOf = (text: string): string[] => [...new Set(text.split(',').map((tag) => tag.trim()).filter(Boolean))];

/** The fields a task form edits, read from the form. */
export function taskFieldsOf(form: HTMLFormElement): Required<Pick<NewTask, 'title' | 'description' | 'priority' | 'due_date' | 'tags'>> {
  const data = new FormData(form);
  return {
    title: String(data.get('title') ?? ''),
    description: String(data.get('description') ?? ''),
    priority: String(data.get('priority') ?? 'medium') as Priority,
    due_date: dueDateOf(String(data.get('due_date') ?? '')),
    tags: tagsOf(String(data.get('tags') ?? '')),
  };
}

/**
 * Title, description, priority, due date and tags: shared by the new-task form and the edit dialog.
 * Uncontrolled (default values): a re-render while a person types never resets what they typed.
 */
export function TaskFields({ task, idPrefix }: { task?: Task; idPrefix: string }) {
  return (
    <>
      <label for={`${idPrefix}-title`}>Title</label>
      <input id={`${idPrefix}-title`} name="title" required maxLength={200} defaultValue={task?.title} />
      <label for={`${idPrefix}-description`}>Description</label>
      <textarea id={`${idPrefix}-description`} name="description" rows={task ? 4 : 2} maxLength={10_000} defaultValue={task?.description} />
      <div class="row">
        <div>
          <label for={`${idPrefix}-priority`}>Priority</label>
          <select id={`${idPrefix}-priority`} name="priority">
            {PRIORITIES.map(([value, label]) => (
              // The default selection is the `selected` attribute (defaultSelected), not the property: the form's
              // reset() after adding a task returns to it, where it would otherwise fall back to the first option.
              <option value={value} key={value} ref={(option) => {
                  if (option) option.defaultSelected = value === (task?.priority ?? 'medium');
                }}
              >
                {label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for={`${idPrefix}-due`}>Due date</label>
          <input id={`${idPrefix}-due`} name="due_date" type="date" defaultValue={dayOf(task?.due_date ?? null)} />
        </div>
        <div class="grow">
          <label for={`${idPrefix}-tags`}>Tags</label>
          <input id={`${idPrefix}-tags`} name="tags" placeholder="home, errands" aria-describedby={`${idPrefix}-tags-hint`} defaultValue={task?.tags.join(', ')} />
          <span id={`${idPrefix}-tags-hint`} class="hint">
            Separated by commas
          </span>
        </div>
      </div>
    </>
  );
}
