/**
 * The service's own errors, and skiff's errors as Docker's HTTP statuses and
 * `{"message": …}` bodies. The status of each code comes from the one error catalogue
 * (util/error-codes.ts), which the CLI's exit statuses come from too.
 */
import { InvalidArgument, NotFound, SkiffError } from '../engine.js';
import { httpStatusOf } from '../util/error-codes.js';

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

/**
 * Docker's wording of "not found", which clients match on: docker-py takes a 404 for an image
 * (and so pulls, or builds for compose) only when it says "No such image". The name is the
 * first `quoted` word of skiff's message ("find image `x`: no such image").
 */
const DOCKER_WORDING: Record<string, (name: string) => string> = {
  IMAGE_NOT_FOUND: (name) => `No such image: ${name}`,
  CONTAINER_NOT_FOUND: (name) => `No such container: ${name}`,
  VOLUME_NOT_FOUND: (name) => `get ${name}: no such volume`,
  NETWORK_NOT_FOUND: (name) => `network ${name} not found`,
};

/** The HTTP status and body of an error; anything not a SkiffError is a 500. */
export function httpError(err: unknown): { status: number; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof SkiffError)) return { status: 500, message };
  const name = /`([^`]+)`/.exec(message)?.[1];
  const wording = DOCKER_WORDING[err.code];
  return {
    status: httpStatusOf(err.code, err.category),
    message: wording && name !== undefined ? wording(name) : message,
  };
}
