/**
 * Registry errors: an HTTP status and a distribution-spec error code ("Error Codes" table),
 * sent as `{"errors":[{code,message,detail}]}`. Messages read "verb `object`: cause".
 */
import { SkiffError, type ErrorCategory } from '../../util/errors.js';

export type SpecCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'TAG_INVALID'
  | 'UNKNOWN';

function categoryOf(status: number): ErrorCategory {
  if (status === 404) return 'not_found';
  if (status === 400 || status === 413) return 'invalid_argument';
  if (status >= 500) return 'internal';
  return 'failed_precondition';
}

export class RegistryError extends SkiffError {
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers (a Range on 416, a challenge on 401). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: SpecCode,
    message: string,
    options: { detail?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, categoryOf(status), message, { cause: options.cause });
    this.status = status;
    this.detail = options.detail ?? null;
    this.headers = options.headers ?? {};
  }
}

export const blobUnknown = (digest: string, name: string) =>
  new RegistryError(404, 'BLOB_UNKNOWN', `read blob \`${digest}\`: unknown to repository \`${name}\``, {
    detail: { digest },
  });

export const manifestUnknown = (reference: string, name: string) =>
  new RegistryError(
    404,
    'MANIFEST_UNKNOWN',
    `read manifest \`${name}:${reference}\`: unknown to the registry`,
    { detail: { reference } },
  );

export const uploadUnknown = (uuid: string) =>
  new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', `find upload \`${uuid}\`: no such upload session`);

export const digestInvalid = (value: string, cause: string) =>
  new RegistryError(400, 'DIGEST_INVALID', `check digest \`${value}\`: ${cause}`, {
    detail: { digest: value },
  });
