import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The web client's refresh token, kept where its script cannot read it. Only POST /refresh ever
 * receives it (`Path`), never from another site (`SameSite=Strict`), and only over HTTPS when the
 * page came over HTTPS (`Secure`). It lives as long as the refresh token it holds (`Max-Age`), so
 * closing the browser does not log the person out; logging out clears it.
 */
export const REFRESH_COOKIE = 'taskforge_refresh';
export const REFRESH_COOKIE_PATH = '/refresh';

const attributes = (request: FastifyRequest): string =>
  `Path=${REFRESH_COOKIE_PATH}; HttpOnly; SameSite=Strict${request.protocol === 'https' ? '; Secure' : ''}`;

export function setRefreshCookie(request: FastifyRequest, reply: FastifyReply, token: string, lifetimeSeconds: number): void {
  reply.header('set-cookie', `${REFRESH_COOKIE}=${encodeURIComponent(token)}; Max-Age=${lifetimeSeconds}; ${attributes(request)}`);
}

export function clearRefreshCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('set-cookie', `${REFRESH_COOKIE}=; Max-Age=0; ${attributes(request)}`);
}

/** The cookie's value from the request's `Cookie` header, or null. */
export function refreshCookieOf(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator < 0 || pair.slice(0, separator).trim() !== REFRESH_COOKIE) continue;
    const value = pair.slice(separator + 1).trim();
    try {
      return value === '' ? null : decodeURIComponent(value);
    } catch {
      return null; // malformed escapes: no usable token, as if absent
    }
  }
  return null;
}
