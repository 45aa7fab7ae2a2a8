import type { TargetedSubmitEvent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, authorized } from '../api/client';
import { ApiError, messageOf } from '../api/problem';
import type { Status, Task } from '../api/types';
import type { EventHub } from '../live/event-hub';
import { Attachments } from './attachments';
import { Alert } from './feedback';
import { STATUSES, TaskFields, taskFieldsOf } from './task-fields';

/**
 * Edits one task in a modal dialog (Escape cancels, focus returns to the button that opened it).
 * Saving sends If-Match with the version shown: a change made elsewhere meanwhile is not overwritten.
 */
export function EditDialog({ task, hub, onClose, onSaved }: { task: Task; hub: EventHub; onClose: () => void; onSaved: (task: Task) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [shown, setShown] = useState(task);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    dialog.current?.showModal();
    return () => opener?.focus();
  }, []);

  const save = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const status = String(new FormData(form).get('status')) as Status;
    setBusy(true);
    setError(null);
    try {
      const saved = await authorized(() =>
        api.PATCH('/tasks/{id}', { params: { path: { id: shown.id }, header: { 'if-match': `"${shown.version}"` } }, body: { ...taskFieldsOf(form), status } }),
      );
      onSaved(saved);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 412) {
        const latest = await authorized(() => api.GET('/tasks/{id}', { params: { path: { id: shown.id } } })).catch(() => null);
        if (latest) setShown(latest);
        setError('This task was changed elsewhere. The form now shows the latest version; make your change again.');
      } else setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} class="card" aria-labelledby="edit-heading" onClose={onClose}>
      <form onSubmit={save} key={shown.version} aria-busy={busy}>
        <h2 id="edit-heading">Edit task</h2>
        <Alert message={error} />
        <TaskFields task={shown} idPrefix="edit" />
        <label for="edit-status">Status</label>
        <select id="edit-status" name="status">
          {STATUSES.map(([value, label]) => (
            <option value={value} key={value} selected={value === shown.status}>
              {label}
            </option>
          ))}
        </select>
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            Save
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
      <Attachments taskId={shown.id} hub={hub} />
    </dialog>
  );
}
