import type { FastifyRequest } from 'fastify';
import { ValidationError, type FieldError } from '../../domain/index.js';

/** No body of ours nests beyond a few levels; deeper JSON is refused before anything recurses into it. */
export const MAX_JSON_DEPTH = 64;

/** Enough for a client to fix its input; a body of a million bad strings does not get a million lines back. */
const MAX_REPORTED = 50;

/** Strings are compared and stored trimmed; passwords are secrets and stay exactly as typed. */
const UNTRIMMED = new Set(['password', 'current_password', 'client_secret', 'refresh_token']);

export class BodyTooDeep extends Error {
  readonly code = 'BODY_TOO_DEEP';
  readonly statusCode = 400;
  constructor() {
    super(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
}

// With the u flag a well-formed surrogate pair is one code point, so \p{Cs} matches only a lone half.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const NUL_OR_LONE_SURROGATE = /[\u0000\p{Cs}]/u;

/**
 * Why a string cannot be stored as text: PostgreSQL refuses U+0000 outright, and a lone UTF-16
 * surrogate has no UTF-8 form (drivers silently replace it), so neither is ever accepted.
 */
function unstorable(text: string): string | null {
  if (!NUL_OR_LONE_SURROGATE.test(text)) return null;
  return text.includes('\u0000') ? 'must not contain the NUL character (U+0000)' : 'must not contain unpaired UTF-16 surrogates';
}

/** A field path safe to echo: the offending characters of a key are written as escapes. */
const printable = (key: string): string =>
  key.replace(/[\u0000\p{Cs}]/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`); // eslint-disable-line no-control-regex -- as above

class FieldErrors {
  readonly list: FieldError[] = [];
  add(field: string, message: string): void {
    if (this.list.length < MAX_REPORTED) this.list.push({ field, message });
  }
}

/**
 * Walks a parsed JSON value without recursion (its depth is the client's choice): refuses nesting
 * beyond MAX_JSON_DEPTH, reports every key and string that cannot be stored, and, when `trim` is
 * set, trims strings in place except secrets. Fields are named as in validation errors (`tags.0`).
 */
function inspect(root: unknown, rootName: string, errors: FieldErrors, trim: boolean): void {
  if (typeof root === 'string') {
    const problem = unstorable(root);
    if (problem) errors.add(rootName, problem);
    return;
  }
  if (root === null || typeof root !== 'object') return;
  const pending: Array<[node: Record<string, unknown>, path: string, depth: number]> = [[root as Record<string, unknown>, '', 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, path, depth] = next;
    if (depth > MAX_JSON_DEPTH) throw new BodyTooDeep();
    for (const key of Object.keys(node)) {
      const field = path ? `${path}.${printable(key)}` : printable(key);
      const keyProblem = unstorable(key);
      if (keyProblem) errors.add(field, keyProblem);
      const value = node[key];
      if (typeof value === 'string') {
        const problem = unstorable(value);
        if (problem) errors.add(field, problem);
        else if (trim && !UNTRIMMED.has(key)) node[key] = value.trim();
      } else if (value !== null && typeof value === 'object') {
        pending.push([value as Record<string, unknown>, field, depth + 1]);
      }
    }
  }
}

/** Trims a parsed body's strings in place, except secrets; throws BodyTooDeep past MAX_JSON_DEPTH. */
export function trimStrings(body: unknown): void {
  inspect(body, 'body', new FieldErrors(), true);
}

/**
 * Every piece of text a request brings — body, query, path and header values — checked before
 * validation and before any database work; the body's strings are trimmed on the way.
 */
export function guardRequestText(request: FastifyRequest): void {
  const errors = new FieldErrors();
  inspect(request.body, 'body', errors, true);
  inspect(request.query, 'query', errors, false);
  inspect(request.params, 'path', errors, false);
  for (const [name, value] of Object.entries(request.headers)) {
    for (const text of Array.isArray(value) ? value : [value]) {
      const problem = typeof text === 'string' ? unstorable(text) : null;
      if (problem) errors.add(name, problem);
    }
  }
  if (errors.list.length > 0) throw new ValidationError(errors.list, 'The request has text that cannot be accepted.');
}
