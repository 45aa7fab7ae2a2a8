import { useEffect, useRef, useState } from 'preact/hooks';
import { api, authorized, authorizedResponse } from '../api/client';
import { filenameOf, saveBlob, sizeOf, uploadFile } from '../api/files';
import { messageOf } from '../api/problem';
import type { paths } from '../api/schema';
import type { EventHub } from '../live/event-hub';
import { Alert, FetchedList } from './feedback';

type Attachment = NonNullable<paths['/tasks/{id}/attachments']['get']['responses'][200]['content']['application/json']>['items'][number];

/** A task's files: attach (with the upload's progress), download, remove; kept current by live events. */
export function Attachments({ taskId, hub }: { taskId: number; hub: EventHub }) {
  const [files, setFiles] = useState<Attachment[] | null>(null);
  const [upload, setUpload] = useState<{ name: string; fraction: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const picker = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const load = () =>
      authorized(() => api.GET('/tasks/{id}/attachments', { params: { path: { id: taskId } } }))
        .then((page) => setFiles(page.items))
        .catch((caught: unknown) => setError(messageOf(caught)));
    void load();
    return hub.subscribe((message) => {
      if (message === 'resync') return void load();
      const data = message.data as { task_id?: number; attachment?: Attachment; id?: string };
      if (data.task_id !== taskId) return;
      if (message.type === 'attachment.created' && data.attachment) {
        const added = data.attachment;
        setFiles((list) => [...(list ?? []).filter((file) => file.id !== added.id), added]);
      } else if (message.type === 'attachment.deleted') setFiles((list) => (list ?? []).filter((file) => file.id !== data.id));
    });
  }, [taskId, hub]);

  const attach = async (file: File) => {
    setError(null);
    setUpload({ name: file.name, fraction: 0 });
    try {
      const added = await uploadFile<Attachment>(`/tasks/${taskId}/attachments`, file, (fraction) => setUpload({ name: file.name, fraction }));
      setFiles((list) => [...(list ?? []).filter((item) => item.id !== added.id), added]);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setUpload(null);
      if (picker.current) picker.current.value = '';
    }
  };

  const download = async (file: Attachment) => {
    setError(null);
    try {
      const { data, response } = await authorizedResponse(() =>
        api.GET('/tasks/{id}/attachments/{attachmentId}/content', { params: { path: { id: taskId, attachmentId: file.id } }, parseAs: 'blob' }),
      );
      saveBlob(data as Blob, filenameOf(response.headers.get('content-disposition'), file.filename));
    } catch (caught) {
      setError(messageOf(caught));
    }
  };

  const remove = async (file: Attachment) => {
    setError(null);
    try {
      await authorized(() => api.DELETE('/tasks/{id}/attachments/{attachmentId}', { params: { path: { id: taskId, attachmentId: file.id } } }));
      setFiles((list) => (list ?? []).filter((item) => item.id !== file.id));
    } catch (caught) {
      setError(messageOf(caught));
    }
  };

  return (
    <section class="attachments" aria-labelledby="attachments-heading">
      <h3 id="attachments-heading">Attachments</h3>
      <Alert message={error} />
      <FetchedList items={files} loading="Loading files…" empty="No files." label="Files" listClass="files">
        {(file) => (
          <li key={file.id}>
            <span class="grow">
              {file.filename} <span class="hint">({sizeOf(file.size)})</span>
            </span>
            <button type="button" aria-label={`Download ${file.filename}`} onClick={() => void download(file)}>
              Download
            </button>
            <button type="button" class="danger" aria-label={`Remove ${file.filename}`} onClick={() => void remove(file)}>
              Remove
            </button>
          </li>
        )}
      </FetchedList>
      {upload && (
        <p role="status">
          <label for="upload-progress">Uploading {upload.name}</label>
          <progress id="upload-progress" max={1} value={upload.fraction} /> {Math.round(upload.fraction * 100)} %
        </p>
      )}
      <input ref={picker} type="file" class="visually-hidden" tabIndex={-1} aria-hidden="true" onChange={(event) => event.currentTarget.files?.[0] && void attach(event.currentTarget.files[0])} />
      <button type="button" disabled={upload !== null} onClick={() => picker.current?.click()}>
        Attach a file
      </button>
    </section>
  );
}
