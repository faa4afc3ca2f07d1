/**
 * One error shape for all of skiff. Every error has a stable `code`, listed with its exit and
 * HTTP statuses in the catalogue (error-codes.ts), and a `category`, the kind of failure,
 * which gives the status of a code the catalogue does not know (a remote registry's own).
 * Messages read "verb `object`: cause", like crun's; wrap lower errors with `{ cause }`
 * instead of pasting their text by hand.
 */
import type { ErrorCode } from './error-codes.js';

/** What the category classes take: a cause to keep, and the failure's own code. */
export interface ErrorOptions {
  cause?: unknown;
  code?: ErrorCode;
}

export type ErrorCategory =
  | 'not_found'
  | 'already_exists'
  | 'invalid_argument'
  | 'failed_precondition'
  | 'unavailable'
  | 'data_loss'
  | 'internal';

export class SkiffError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;

  constructor(code: string, category: ErrorCategory, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.category = category;
    this.name = new.target.name;
  }
}

/** A value the user or a peer gave us is malformed (a reference, a manifest, a tar header). */
export class InvalidArgument extends SkiffError {
  constructor(message: string, options?: ErrorOptions) {
    super(options?.code ?? 'INVALID_ARGUMENT', 'invalid_argument', message, options);
  }
}

export class NotFound extends SkiffError {
  constructor(message: string, options?: ErrorOptions) {
    super(options?.code ?? 'NOT_FOUND', 'not_found', message, options);
  }
}

export class AlreadyExists extends SkiffError {
  constructor(message: string, options?: ErrorOptions) {
    super(options?.code ?? 'ALREADY_EXISTS', 'already_exists', message, options);
  }
}

/** The operation is well-formed but the system is not in a state that allows it. */
export class FailedPrecondition extends SkiffError {
  constructor(message: string, options?: ErrorOptions) {
    super(options?.code ?? 'FAILED_PRECONDITION', 'failed_precondition', message, options);
  }
}

/** Content does not match what it claims to be: a digest mismatch, a truncated stream. */
export class DataLoss extends SkiffError {
  constructor(message: string, options?: ErrorOptions) {
    super(options?.code ?? 'DATA_LOSS', 'data_loss', message, options);
  }
}

export class Unavailable extends SkiffError {
  constructor(message: string, options?: ErrorOptions) {
    super(options?.code ?? 'UNAVAILABLE', 'unavailable', message, options);
  }
}

/** Node's system errors carry `code` (ENOENT, …); this reads it without `any`. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * The one line the CLI prints for an error. It does not follow `cause`: a SkiffError's message
 * already names what went wrong beneath it ("open `x`: permission denied").
 */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
