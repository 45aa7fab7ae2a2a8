import type { TargetedSubmitEvent } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { api, authorized } from '../api/client';
import type { Task } from '../api/types';
import { generationMessage, previewOf, type PreviewItem } from '../tasks/generation';
import { Alert } from './feedback';
import { dayOf, priorityLabel } from './task-fields';

const DEFAULT_MAX_TASKS = '5';

/**
 * Tasks proposed by the server's AI model from a prompt: shown as drafts first (nothing stored),
 * and only the drafts the person keeps are created, each exactly as previewed.
 */
export function GeneratePanel({ onCreated }: { onCreated: (task: Task) => void }) {
  const [prompt, setPrompt] = useState('');
  const [maxTasks, setMaxTasks] = useState(DEFAULT_MAX_TASKS);
  const [preview, setPreview] = useState<PreviewItem[] | null>(null);
  const [busy, setBusy] = useState<'generating' | 'saving' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const promptField = useRef<HTMLTextAreaElement>(null);

  const generate = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (busy) return;
    setBusy('generating');
    setError(null);
    setNotice(null);
    try {
      const { items } = await authorized(() => api.POST('/tasks/generate', { body: { prompt, max_tasks: Number(maxTasks), save: false } }));
      setPreview(previewOf(items, () => crypto.randomUUID()));
      if (items.length > 0) requestAnimationFrame(() => heading.current?.focus());
    } catch (caught) {
      setError(generationMessage(caught));
    } finally {
      setBusy(null);
    }
  };

  const save = async () => {
    if (!preview || busy) return;
    setBusy('saving');
    setError(null);
    setNotice(null);
    let remaining = preview;
    let saved = 0;
    try {
      // One at a time, in the model's order; a saved draft leaves the preview, so a retry after a
      // failure saves only the rest (and the kept keys make a repeated request create nothing new).
      for (const item of preview) {
        if (!item.keep) continue;
        const task = await authorized(() => api.POST('/tasks', { body: item.draft, headers: { 'idempotency-key': item.key } }));
        onCreated(task);
        saved += 1;
        remaining = remaining.filter((other) => other !== item);
      }
      setPreview(null);
      setPrompt('');
      setNotice(saved === 1 ? 'Added 1 generated task.' : `Added ${saved} generated tasks.`);
      promptField.current?.focus();
    } catch (caught) {
      setPreview(remaining);
      setError(generationMessage(caught));
    } finally {
      setBusy(null);
    }
  };

  const setKeep = (target: PreviewItem, keep: boolean) => setPreview((items) => items && items.map((item) => (item === target ? { ...item, keep } : item)));
  const kept = preview?.filter((item) => item.keep).length ?? 0;

  return (
    <section class="card generate" aria-labelledby="generate-heading">
      <h2 id="generate-heading">Generate tasks with AI</h2>
      <form aria-label="Generate tasks" onSubmit={generate}>
        <label for="generate-prompt">Prompt</label>
        <textarea
          id="generate-prompt"
          ref={promptField}
          rows={2}
          required
          maxLength={2000}
          value={prompt}
          onInput={(event) => setPrompt(event.currentTarget.value)}
          placeholder="For example: prepare for a job interview next week"
        />
        <div class="buttons">
          <div>
            <label for="generate-max">Max tasks</label>
            <input id="generate-max" type="number" min={1} max={20} required value={maxTasks} onInput={(event) => setMaxTasks(event.currentTarget.value)} />
          </div>
          <button type="submit" class="primary" disabled={busy !== null} aria-describedby="generate-status">
            Generate
          </button>
        </div>
      </form>
      <p id="generate-status" role="status" class="hint">
        {busy === 'generating' ? 'Generating tasks… this can take a few seconds.' : busy === 'saving' ? 'Saving tasks…' : notice ?? ''}
      </p>
      <Alert message={error} />
      {preview && (
        <div class="preview">
          <h3 ref={heading} tabIndex={-1}>
            {preview.length === 0 ? 'The model proposed no tasks.' : 'Proposed tasks: untick any you do not want'}
          </h3>
          {preview.length > 0 && (
            <ul class="drafts" aria-label="Proposed tasks" aria-busy={busy === 'saving'}>
              {preview.map((item, index) => (
                <li class="task" key={item.key}>
                  <input id={`draft-${index}`} type="checkbox" checked={item.keep} onChange={(event) => setKeep(item, event.currentTarget.checked)} />
                  <div class="task-main">
                    <label for={`draft-${index}`} class="draft-title">
                      {item.draft.title}
                    </label>
                    {item.draft.description && <p class="description">{item.draft.description}</p>}
                    <p class="meta">
                      <span class={`badge priority-${item.draft.priority}`}>{priorityLabel(item.draft.priority)} priority</span>
                      {item.draft.due_date && <span class="badge">Due {dayOf(item.draft.due_date)}</span>}
                      {item.draft.tags.map((tag) => (
                        <span class="tag" key={tag}>
                          #{tag}
                        </span>
                      ))}
                    </p>
                  </div>
                </li>
              ))}
            </ul>
          )}
          <div class="buttons">
            {preview.length > 0 && (
              <button type="button" class="primary" disabled={busy !== null || kept === 0} onClick={() => void save()}>
                {kept === 1 ? 'Save 1 task' : `Save ${kept} tasks`}
              </button>
            )}
            <button type="button" disabled={busy !== null} onClick={() => setPreview(null)}>
              Discard
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
