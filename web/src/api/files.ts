import { currentAccessToken, refresh } from './client';
import { ApiError, problemMessage } from './problem';
import type { Problem } from './types';

/** The filename a Content-Disposition header gives (RFC 6266: filename* wins), else `fallback`. */
export function filenameOf(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback;
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!.trim());
    } catch {
      // a malformed escape: try the plain form
    }
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;\s]+)/i.exec(disposition);
  return plain ? (plain[1] ?? plain[2]!).replace(/\\(.)/g, '$1') : fallback;
}

/** Hands a downloaded body to the browser as a file named `name` (a same-origin blob: link). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Uploads one file as the `file` part of a multipart body, reporting progress (fetch cannot
 * report an upload's progress; XMLHttpRequest can). An expired access token is refreshed once.
 */
export function uploadFile<T>(url: string, file: File, onProgress: (fraction: number) => void): Promise<T> {
  const attempt = () =>
    new Promise<{ status: number; body: unknown; retryAfter: string | null }>((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('POST', url);
      const token = currentAccessToken();
      if (token) request.setRequestHeader('authorization', `Bearer ${token}`);
      request.responseType = 'json';
      request.upload.addEventListener('progress', (event) => event.lengthComputable && onProgress(event.loaded / event.total));
      request.addEventListener('load', () => resolve({ status: request.status, body: request.response, retryAfter: request.getResponseHeader('retry-after') }));
      request.addEventListener('error', () => reject(new ApiError(null, problemMessage(null, undefined))));
      const form = new FormData();
      form.append('file', file, file.name);
      request.send(form);
    });
  return (async () => {
    let result = await attempt();
    if (result.status === 401 && (await refresh())) result = await attempt();
    if (result.status < 200 || result.status >= 300) throw new ApiError(result.status, problemMessage(result.status, result.body as Problem, result.retryAfter));
    onProgress(1);
    return result.body as T;
  })();
}

/** Size for people: bytes, KB or MB. */
export function sizeOf(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
