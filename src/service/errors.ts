/**
 * One mapping from skiff's errors to Docker's HTTP statuses and `{"message": …}` bodies.
 * Clients branch on the status (a 404 from create makes the CLI pull; 409 is a name
 * conflict; 304 a start of a running container), so the mapping is by category, with the few
 * codes of this folder that need another status.
 */
import { InvalidArgument, NotFound, SkiffError } from '../engine.js';

/** The object is already in the asked-for state (start when running, stop when stopped). */
export class NotModified extends SkiffError {
  constructor(message: string) {
    super('NOT_MODIFIED', 'failed_precondition', message);
  }
}

/** A path this service does not serve. */
export class PageNotFound extends NotFound {
  constructor() {
    super('page not found', { code: 'PAGE_NOT_FOUND' });
  }
}

/** A known path asked with another method. */
export class MethodNotAllowed extends SkiffError {
  constructor(method: string, path: string) {
    super('METHOD_NOT_ALLOWED', 'invalid_argument', `method ${method} is not allowed on ${path}`);
  }
}

export class BodyTooLarge extends InvalidArgument {
  constructor(limit: number) {
    super(`request body is larger than ${limit} bytes`, { code: 'BODY_TOO_LARGE' });
  }
}

export class BadJson extends InvalidArgument {
  constructor(cause: unknown) {
    super(`invalid JSON in the request body: ${(cause as Error).message}`, { code: 'BAD_JSON', cause });
  }
}

const BY_CODE: Record<string, number> = { NOT_MODIFIED: 304, METHOD_NOT_ALLOWED: 405 };

const BY_CATEGORY: Record<string, number> = {
  not_found: 404,
  already_exists: 409,
  invalid_argument: 400,
  failed_precondition: 409,
};

/** The HTTP status and body of an error; anything not a SkiffError is a 500. */
export function httpError(err: unknown): { status: number; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof SkiffError)) return { status: 500, message };
  return { status: BY_CODE[err.code] ?? BY_CATEGORY[err.category] ?? 500, message };
}
