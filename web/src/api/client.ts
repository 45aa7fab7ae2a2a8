import createClient from 'openapi-fetch';
import { ApiError, problemMessage } from './problem';
import type { paths } from './schema';
import type { Problem } from './types';

/**
 * The API client, typed from the service's OpenAPI document. The access token lives only in this
 * module's memory; the refresh token is an HttpOnly cookie that only POST /refresh receives.
 */
export const api = createClient<paths>({ baseUrl: location.origin });

let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
const sessionEndedListeners = new Set<() => void>();

api.use({
  onRequest({ request }) {
    if (accessToken) request.headers.set('authorization', `Bearer ${accessToken}`);
    return request;
  },
});

export const hasSession = (): boolean => accessToken !== null;
/** For the requests openapi-fetch cannot make: uploads with progress (XMLHttpRequest). */
export const currentAccessToken = (): string | null => accessToken;

export function onSessionEnded(listener: () => void): () => void {
  sessionEndedListeners.add(listener);
  return () => sessionEndedListeners.delete(listener);
}

function endSession(): void {
  if (accessToken === null) return;
  accessToken = null;
  for (const listener of sessionEndedListeners) listener();
}

/**
 * A new access token from the refresh cookie: true when there is one, false when the cookie is
 * refused (the session is over). A service that is busy or unreachable ends nothing: that throws
 * an ApiError to show. One refresh at a time across every tab of this origin (Web Locks): the
 * cookie is single use, and two tabs presenting the same one would revoke the session.
 */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const exchange = async () => {
      const { data, error, response } = await send(() => api.POST('/refresh', { body: {} }));
      if (data) return data.access_token;
      if (response.status === 401 || response.status === 422) return null;
      throw failure(response, error);
    };
    const token = navigator.locks ? await navigator.locks.request('taskforge-refresh', exchange) : await exchange();
    if (token === null) {
      endSession();
      return false;
    }
    accessToken = token;
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function logIn(username: string, password: string): Promise<void> {
  const { data, error, response } = await send(() => api.POST('/login', { body: { username, password, refresh_cookie: true } }));
  if (!data) throw failure(response, error);
  accessToken = data.access_token;
}

export async function logOut(): Promise<void> {
  try {
    await api.POST('/logout');
  } finally {
    endSession();
  }
}

/** Network failures become a response-less ApiError instead of a TypeError. */
async function send<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(null, problemMessage(null, undefined));
  }
}

export function failure(response: Response, error: unknown): ApiError {
  const problem = error as Problem | undefined;
  return new ApiError(response.status, problemMessage(response.status, problem, response.headers.get('retry-after')), problem && typeof problem === 'object' ? problem : undefined);
}

/**
 * Calls the API with the session: an expired access token is refreshed once and the call
 * repeated; a session that cannot be refreshed ends (the page shows the login again).
 */
export async function authorizedResponse<T extends { data?: unknown; error?: unknown; response: Response }>(
  request: () => Promise<T>,
): Promise<{ data: NonNullable<T['data']>; response: Response }> {
  let result = await send(request);
  if (result.response.status === 401 && (await refresh())) result = await send(request);
  if (result.response.status === 401) endSession();
  if (result.error !== undefined || !result.response.ok) throw failure(result.response, result.error);
  return { data: result.data as NonNullable<T['data']>, response: result.response };
}

export async function authorized<T extends { data?: unknown; error?: unknown; response: Response }>(request: () => Promise<T>): Promise<NonNullable<T['data']>> {
  return (await authorizedResponse(request)).data;
}
