import { useEffect, useState } from 'preact/hooks';
import { api, authorized, authorizedResponse } from '../api/client';
import { filenameOf, saveBlob, sizeOf } from '../api/files';
import { messageOf } from '../api/problem';
import type { paths } from '../api/schema';
import type { EventHub } from '../live/event-hub';
import { Alert, FetchedList } from './feedback';

type Export = NonNullable<paths['/exports']['get']['responses'][200]['content']['application/json']>['items'][number];
const STATUS_LABELS: Record<Export['status'], string> = { queued: 'Queued', running: 'Running', succeeded: 'Ready', failed: 'Failed' };

/** Exports of every task as JSON or CSV: started here, finished by a job, announced by a live event. */
export function ExportsView({ hub }: { hub: EventHub }) {
  const [exports, setExports] = useState<Export[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const load = () =>
      authorized(() => api.GET('/exports'))
        .then((page) => setExports(page.items))
        .catch((caught: unknown) => setError(messageOf(caught)));
    void load();
    return hub.subscribe((message) => {
      if (message === 'resync') return void load();
      if (message.type !== 'export.completed' && message.type !== 'export.failed') return;
      const done = (message.data as { export: Export }).export;
      setExports((list) => (list ?? []).map((item) => (item.id === done.id ? done : item)));
    });
  }, [hub]);

  const start = async (format: 'json' | 'csv') => {
    setError(null);
    try {
      const started = await authorized(() => api.POST('/exports', { body: { format } }));
      setExports((list) => [started, ...(list ?? []).filter((item) => item.id !== started.id)]);
    } catch (caught) {
      setError(messageOf(caught));
    }
  };

  const download = async (item: Export) => {
    setError(null);
    try {
      const { data, response } = await authorizedResponse(() => api.GET('/exports/{exportId}/download', { params: { path: { exportId: item.id } }, parseAs: 'blob' }));
      saveBlob(data as Blob, filenameOf(response.headers.get('content-disposition'), `taskforge-export.${item.format}`));
    } catch (caught) {
      setError(messageOf(caught));
    }
  };

  return (
    <main class="tasks">
      <h1>Exports</h1>
      <p class="hint">A file of all your tasks, made in the background from one consistent snapshot.</p>
      <div class="buttons">
        <button type="button" class="primary" onClick={() => void start('json')}>
          Export as JSON
        </button>
        <button type="button" class="primary" onClick={() => void start('csv')}>
          Export as CSV
        </button>
      </div>
      <Alert message={error} />
      <FetchedList items={exports} loading="Loading exports…" empty="No exports yet." label="Exports">
        {(item) => (
          <li class="task" key={item.id}>
            <div class="task-main">
              <span class="title">
                {item.format.toUpperCase()} export of {item.created_at.slice(0, 16).replace('T', ' ')} UTC
              </span>
              <p class="meta">
                <span class="badge">{STATUS_LABELS[item.status]}</span>
                {item.size !== null && <span>{sizeOf(item.size)}</span>}
                {item.expires_at && <span>Available until {item.expires_at.slice(0, 16).replace('T', ' ')} UTC</span>}
              </p>
            </div>
            {item.status === 'succeeded' && (
              <button type="button" aria-label={`Download ${item.format.toUpperCase()} export`} onClick={() => void download(item)}>
                Download
              </button>
            )}
          </li>
        )}
      </FetchedList>
    </main>
  );
}
