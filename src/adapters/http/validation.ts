import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { ValidationError, type FieldError } from '../../domain/index.js';

export { trimStrings } from './input-guard.js';

// ajv-formats ships CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const shared: Options = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false };

// Bodies are typed exactly: "5" is not a number and 1 is not a string. Query strings and paths are
// text by nature, so there values are coerced to the declared type (and repeated keys to arrays).
const bodyAjv = addFormats(new Ajv({ ...shared, coerceTypes: false }));
const textAjv = addFormats(new Ajv({ ...shared, coerceTypes: 'array' }));

export const schemaCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'required') path.push(String(error.params.missingProperty));
  if (error.keyword === 'additionalProperties') path.push(String(error.params.additionalProperty));
  return path.join('.');
}

function messageOf(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not allowed';
    case 'enum':
      return `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** One entry per field, in a form a client can show next to the input. */
export function toFieldErrors(errors: ErrorObject[], part: string | undefined): FieldError[] {
  const byField = new Map<string, FieldError>();
  for (const error of errors) {
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') continue;
    const field = fieldOf(error) || (part === 'body' ? 'body' : (part ?? 'request'));
    if (!byField.has(field)) byField.set(field, { field, message: messageOf(error) });
  }
  if (byField.size === 0 && errors[0]) byField.set('request', { field: fieldOf(errors[0]) || 'request', message: messageOf(errors[0]) });
  return [...byField.values()];
}

/**
 * Path ids are written in decimal digits. Coercion alone would read "0x10" as 16 and "1e3" as
 * 1000, so another spelling could reach someone's task; such ids fail here, before coercion.
 */
export function rejectNonDecimalIds(params: unknown): void {
  const id = (params as Record<string, unknown> | undefined)?.id;
  if (typeof id === 'string' && !/^\d+$/.test(id)) throw ValidationError.field('id', 'must be a positive integer');
}
