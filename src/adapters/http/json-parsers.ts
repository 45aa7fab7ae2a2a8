import type { FastifyBodyParser, FastifyInstance } from 'fastify';

class MergePatchOutsidePatch extends Error {
  readonly code = 'MERGE_PATCH_OUTSIDE_PATCH';
  readonly statusCode = 415;
}

class ForbiddenJsonKey extends Error {
  readonly code = 'FORBIDDEN_JSON_KEY';
  readonly statusCode = 400;
}

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/**
 * Fastify's own parser, which refuses `__proto__` keys and `constructor` objects with a
 * `prototype` (prototype poisoning) but reports them as invalid JSON. A client whose JSON is
 * valid is told which keys are not accepted instead.
 */
function jsonParser(app: FastifyInstance): FastifyBodyParser<string> {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  return (request, body, done) =>
    parseJson(request, body, (error, value) => {
      if ((error as { code?: string } | null)?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' && isJson(body)) {
        done(new ForbiddenJsonKey('Keys named "__proto__", and "constructor" objects with a "prototype", are not accepted in a JSON body.'), undefined);
        return;
      }
      done(error, value);
    });
}

/**
 * application/json everywhere, and application/merge-patch+json (RFC 7396), which describes
 * changes, for PATCH only: elsewhere it is answered 415.
 */
export function registerJsonParsers(app: FastifyInstance): void {
  const parseJson = jsonParser(app);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, (request, body, done) => {
    if (request.method !== 'PATCH') {
      done(new MergePatchOutsidePatch('application/merge-patch+json is for PATCH; send application/json.'), undefined);
      return;
    }
    parseJson(request, body as string, done);
  });
}
