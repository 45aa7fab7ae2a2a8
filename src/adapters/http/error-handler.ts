import type { FastifyError, FastifyInstance, FastifyServerOptions } from 'fastify';
import { LimitReachedError, isDomainError, type DomainError } from '../../domain/index.js';
import { DOMAIN_ERROR_STATUS, httpProblem, problemType, sendProblem, validationProblem, type ProblemDetails } from './problem.js';
import { toFieldErrors } from './validation.js';

function fromDomainError(error: DomainError): ProblemDetails {
  const row = DOMAIN_ERROR_STATUS[error.code];
  const problem: ProblemDetails = { type: problemType(row.type), title: row.title, status: row.status, detail: error.message };
  if (row.status === 422 || error.fieldErrors.length > 0) problem.errors = error.fieldErrors;
  return problem;
}

/** What a client may learn from the framework's own 4xx errors, phrased by us rather than by it. */
const FRAMEWORK_ERRORS: Record<string, (error: FastifyError) => ProblemDetails> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => httpProblem(415, 'This content type is not supported here; send application/json.'),
  FST_ERR_CTP_BODY_TOO_LARGE: () => httpProblem(413, 'The request body is larger than the server accepts.'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => httpProblem(400, 'The request body is not valid JSON.'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => httpProblem(400, 'The request body is empty but declared as JSON.'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => httpProblem(400, 'The Content-Length header does not match the body.'),
  FST_ERR_BAD_URL: () => httpProblem(400, 'The URL is not validly percent-encoded.'),
  FST_ERR_MAX_PARAM_LENGTH: () => httpProblem(414, 'A segment of the URL is longer than the server accepts.'),
  MERGE_PATCH_OUTSIDE_PATCH: (error) => httpProblem(415, error.message),
  BODY_TOO_DEEP: (error) => httpProblem(400, error.message),
  FORBIDDEN_JSON_KEY: (error) => httpProblem(400, error.message),
  RATE_LIMITED: (error) => httpProblem(429, error.message),
  NOT_MULTIPART: (error) => httpProblem(415, error.message),
  MALFORMED_MULTIPART: (error) => httpProblem(400, error.message),
};

export interface ErrorHandlingOptions {
  /** True for errors meaning a dependency cannot answer right now (database down, pool exhausted). */
  isUnavailable?: (error: unknown) => boolean;
}

const UNAVAILABLE = (): ProblemDetails => httpProblem(503, 'The service is temporarily unavailable; retry shortly.');

function classify(error: FastifyError, isUnavailable: (error: unknown) => boolean): ProblemDetails | null {
  if (isDomainError(error)) return fromDomainError(error);
  if (isUnavailable(error)) return UNAVAILABLE();
  if (error.validation) return validationProblem(toFieldErrors(error.validation as never, error.validationContext));
  const known = FRAMEWORK_ERRORS[error.code];
  if (known) return known(error);
  const status = error.statusCode ?? 500;
  if (error instanceof SyntaxError && status === 400) return httpProblem(400, 'The request body could not be parsed.');
  if (status >= 400 && status < 500) return httpProblem(status, 'The request could not be processed.');
  if (status === 503) return UNAVAILABLE();
  return null;
}

/**
 * Fastify's `frameworkErrors`: URLs its router cannot read (bad percent-encoding, an overlong path
 * segment) are answered before any hook runs, so they get their request id here.
 */
export const frameworkErrors: FastifyServerOptions['frameworkErrors'] = (error, request, reply) => {
  reply.header('x-request-id', request.id);
  const problem = classify(error, () => false);
  if (problem) return sendProblem(reply, problem);
  request.log.error({ err: error }, 'unexpected error');
  return sendProblem(reply, httpProblem(500, `An unexpected error occurred. Quote request id ${request.id} when reporting it.`));
};

export function registerErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = {}): void {
  const isUnavailable = options.isUnavailable ?? (() => false);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = classify(error, isUnavailable);
    if (problem) {
      if (error instanceof LimitReachedError) reply.header('retry-after', error.retryAfterSeconds);
      if (problem.status >= 500) request.log.warn({ err: error }, 'service unavailable');
      return sendProblem(reply, problem);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(reply, httpProblem(500, `An unexpected error occurred. Quote request id ${request.id} when reporting it.`));
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, httpProblem(404, `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );
}
