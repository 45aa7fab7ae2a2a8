import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { DomainErrorCode, FieldError } from '../../domain/index.js';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

const PROBLEM_BASE = 'https://taskforge.dev/problems/';

/** One row per expected failure: the only place that decides how a domain error looks over HTTP. */
export const DOMAIN_ERROR_STATUS: Record<DomainErrorCode, { status: number; type: string; title: string }> = {
  VALIDATION_FAILED: { status: 422, type: 'validation-failed', title: 'Validation failed' },
  USERNAME_TAKEN: { status: 409, type: 'username-taken', title: 'Username already taken' },
  EMAIL_TAKEN: { status: 409, type: 'email-taken', title: 'Email already registered' },
  INVALID_CREDENTIALS: { status: 401, type: 'invalid-credentials', title: 'Invalid credentials' },
  INVALID_TOKEN: { status: 401, type: 'invalid-token', title: 'Invalid token' },
  INVALID_SCOPE: { status: 400, type: 'invalid-scope', title: 'Invalid scope' },
  FORBIDDEN: { status: 403, type: 'forbidden', title: 'Forbidden' },
  LOGIN_SESSION_REQUIRED: { status: 403, type: 'login-session-required', title: 'Login session required' },
  CURRENT_PASSWORD_WRONG: { status: 403, type: 'current-password-wrong', title: 'Current password is incorrect' },
  USER_NOT_FOUND: { status: 404, type: 'not-found', title: 'Not found' },
  TASK_NOT_FOUND: { status: 404, type: 'not-found', title: 'Not found' },
  PERSONAL_TOKEN_NOT_FOUND: { status: 404, type: 'not-found', title: 'Not found' },
  VERSION_MISMATCH: { status: 412, type: 'version-mismatch', title: 'Precondition failed' },
  INVALID_CURSOR: { status: 422, type: 'validation-failed', title: 'Validation failed' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, type: 'idempotency-key-reused', title: 'Idempotency key reused' },
  IDEMPOTENCY_KEY_IN_FLIGHT: { status: 409, type: 'idempotency-key-in-flight', title: 'Request with this key in progress' },
  HISTORY_GONE: { status: 410, type: 'history-gone', title: 'Changes no longer available' },
  TOO_MANY_STREAMS: { status: 429, type: 'too-many-streams', title: 'Too many event streams' },
  EXPORT_NOT_FOUND: { status: 404, type: 'not-found', title: 'Not found' },
  EXPORT_NOT_READY: { status: 409, type: 'export-not-ready', title: 'Export not ready' },
  EXPORT_EXPIRED: { status: 410, type: 'export-expired', title: 'Export expired' },
  ATTACHMENT_NOT_FOUND: { status: 404, type: 'not-found', title: 'Not found' },
  ATTACHMENT_TOO_LARGE: { status: 413, type: 'attachment-too-large', title: 'Attachment too large' },
  ATTACHMENT_QUOTA_EXCEEDED: { status: 413, type: 'quota-exceeded', title: 'Attachment quota exceeded' },
  ATTACHMENT_UPLOAD_TIMED_OUT: { status: 408, type: 'upload-timed-out', title: 'Upload timed out' },
  AI_NOT_CONFIGURED: { status: 503, type: 'ai-not-configured', title: 'AI generation is not configured' },
  AI_QUOTA_EXCEEDED: { status: 429, type: 'ai-quota-exceeded', title: 'AI generation quota exceeded' },
  AI_ANSWER_UNUSABLE: { status: 502, type: 'ai-answer-unusable', title: 'Unusable answer from the AI model' },
  AI_PROVIDER_FAILED: { status: 502, type: 'ai-provider-failed', title: 'The AI provider failed' },
  AI_TIMED_OUT: { status: 504, type: 'ai-timed-out', title: 'The AI provider timed out' },
  // Nobody reads it: the client has gone. 499 is the status proxies log for that (nginx's).
  AI_CANCELLED: { status: 499, type: 'client-closed-request', title: 'Client closed the request' },
};

export const problemType = (slug: string): string => `${PROBLEM_BASE}${slug}`;

/** A problem for a plain HTTP status, titled by the status itself. */
export function httpProblem(status: number, detail: string, extra: Partial<ProblemDetails> = {}): ProblemDetails {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, ...extra };
}

export function validationProblem(errors: FieldError[], detail = 'The request has invalid fields.'): ProblemDetails {
  return { type: problemType('validation-failed'), title: 'Validation failed', status: 422, detail, errors };
}

export function sendProblem(reply: FastifyReply, problem: ProblemDetails): FastifyReply {
  if (problem.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Bearer');
  return reply.code(problem.status).type('application/problem+json').send(problem);
}
