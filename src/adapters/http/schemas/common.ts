import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'A URI identifying the kind of problem.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), { description: 'One entry per invalid field (422 only).' }),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details, sent as application/problem+json.', additionalProperties: true },
);

export const problemRef = Type.Ref(Problem);

/** Error responses a route can produce, for the OpenAPI document. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, problemRef]));
}

export const IdParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'A positive integer id.' }),
});

/**
 * A value or null, for responses, as one JSON Schema type list (OpenAPI 3.1) rather than anyOf:
 * fast-json-stringify settles an anyOf by running ajv on every branch for every value it writes
 * (twice per task, forty times per page); a type list is a typeof check.
 */
export const Nullable = <T extends TSchema & { type: string }>(schema: T, options: Record<string, unknown> = {}) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'], ...options });

/** A string enum that ajv reports as "must be one of: …" rather than as a failed union. */
export const StringEnum = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-22T10:00:00.000Z'] });

export const OffsetPageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size.' }),
  offset: Type.Integer({ minimum: 0, default: 0, description: 'Items to skip.' }),
};
