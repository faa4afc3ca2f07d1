/**
 * The error catalogue: every code a SkiffError carries, what it means, and how it leaves
 * skiff — once as the CLI's exit status, once as the Docker API's HTTP status. Clients branch
 * on these (the docker CLI pulls after a 404 from create; compose creates a network after a
 * 404; a 304 from start means "already running"), so a code's statuses are fixed here and
 * nowhere else. `src/util/error-codes.test.ts` checks that every code the sources throw is
 * listed, and docs/errors.md is generated from this table.
 */
import type { ErrorCategory } from './errors.js';

export interface ErrorCodeInfo {
  /** The HTTP status `skiff system service` answers with. */
  http: number;
  /** The CLI's exit status (run and create use 125 for their own errors, as docker does). */
  exit: number;
  means: string;
}

const entry = (http: number, means: string, exit = 1): ErrorCodeInfo => ({ http, exit, means });

export const ERROR_CODES = {
  // Generic codes, one per category, for failures that have no code of their own yet.
  INVALID_ARGUMENT: entry(400, 'a value given is malformed'),
  NOT_FOUND: entry(404, 'the object asked for does not exist'),
  ALREADY_EXISTS: entry(409, 'an object of that name exists'),
  FAILED_PRECONDITION: entry(409, 'the system is not in a state that allows the operation'),
  DATA_LOSS: entry(500, 'content does not match what it claims to be'),
  UNAVAILABLE: entry(503, 'a service skiff needs does not answer'),

  // Command line and settings.
  USAGE: entry(400, 'the command line is malformed', 2),
  BAD_SETTINGS: entry(400, 'settings.json is malformed'),
  PROGRAM_MISSING: entry(500, 'a program skiff runs is not installed'),

  // Containers.
  CONTAINER_NOT_FOUND: entry(404, 'no container has that name or id'),
  NAME_IN_USE: entry(409, 'a container of that name exists'),
  CONTAINER_RUNNING: entry(409, 'the container is running (stop it or use force)'),
  CONTAINER_NOT_RUNNING: entry(409, 'the container is not running'),
  NOT_MODIFIED: entry(304, 'the container is already in the asked-for state'),
  NO_COMMAND: entry(400, 'neither the image nor the command line gives a command'),
  COMMAND_NOT_FOUND: entry(500, 'the command to run does not exist in the container', 127),
  COMMAND_CANNOT_RUN: entry(500, 'the command to run is not executable', 126),
  RUNTIME_FAILED: entry(500, 'the OCI runtime failed'),
  RUNTIME_MISSING: entry(500, 'the OCI runtime asked for is not installed'),
  USER_NOT_FOUND: entry(400, 'the user is not in the container’s /etc/passwd'),
  GROUP_NOT_FOUND: entry(400, 'the group is not in the container’s /etc/group'),
  CAPABILITY_UNAVAILABLE: entry(400, 'a capability asked for is not known to this kernel'),
  SECCOMP_PROFILE_MISSING: entry(400, 'the seccomp profile file cannot be read'),
  STORAGE_OPT_INVALID: entry(400, 'a --storage-opt value is malformed'),
  STORAGE_OPT_UNSUPPORTED: entry(400, 'the store’s file system cannot limit a container’s size'),
  STORAGE_QUOTA_FAILED: entry(500, 'setting the size limit failed'),

  // Networks and volumes.
  NETWORK_NOT_FOUND: entry(404, 'no network has that name or id'),
  NETWORK_EXISTS: entry(409, 'a network of that name exists'),
  NETWORK_IN_USE: entry(409, 'containers are attached to the network'),
  PORT_TAKEN: entry(409, 'the port the proxy should listen on is in use'),
  VOLUME_NOT_FOUND: entry(404, 'no volume has that name'),
  VOLUME_EXISTS: entry(409, 'a volume of that name exists'),
  VOLUME_IN_USE: entry(409, 'a container uses the volume'),

  // Images and the store.
  IMAGE_NOT_FOUND: entry(404, 'no image has that name or id'),
  IMAGE_IN_USE: entry(409, 'a container uses the image'),
  PLATFORM_NOT_FOUND: entry(404, 'the index has no image for this platform'),
  METADATA_TOO_LARGE: entry(400, 'a manifest, index or config is over its size limit'),
  TOO_MANY_LAYERS: entry(400, 'the image has more layers than skiff takes'),
  LAYER_TOO_LARGE: entry(400, 'a layer expands past the layer size limit'),
  IMAGE_TOO_LARGE: entry(400, 'the image expands past the image size limit'),
  LAYER_EXPANDS_TOO_MUCH: entry(400, 'a layer expands more than the compression ratio allowed'),
  LAYER_BLOB_MISMATCH: entry(500, 'a stored layer no longer matches its digest'),
  IN_USE: entry(409, 'another process holds the resource'),

  // Builds and Compose files.
  RUN_FAILED: entry(400, 'a RUN step of the build exited with a non-zero status'),
  DOCKERFILE: entry(400, 'the Dockerfile is malformed'),
  DOCKERFILE_EXPAND: entry(400, 'a variable substitution in the Dockerfile is malformed'),
  BUILD_CONTEXT: entry(400, 'the build context cannot be read'),
  COMPOSE_INVALID: entry(400, 'the Compose file does not follow the Compose specification'),
  COMPOSE_UNKNOWN_KEY: entry(400, 'the Compose file has a key the specification does not define'),
  COMPOSE_UNSUPPORTED: entry(400, 'the Compose file asks for something skiff does not do'),
  COMPOSE_INTERPOLATION: entry(400, 'a variable substitution in the Compose file is malformed'),

  // Deploys and the proxy.
  NO_HEALTHCHECK: entry(409, 'the service has no health check to wait for'),
  NOT_READY: entry(409, 'the new release did not become ready'),
  DEPLOY_BUSY: entry(409, 'another deploy of the service is running'),
  NO_ROLLBACK_TARGET: entry(409, 'there is no earlier release to roll back to'),
  PROXY_CONFIG: entry(500, 'HAProxy refused the generated configuration'),
  PROXY_FAILED: entry(500, 'HAProxy failed'),
  PROXY_REFUSED: entry(500, 'HAProxy’s runtime API refused a command'),
  PROXY_UNAVAILABLE: entry(503, 'HAProxy’s runtime API does not answer'),

  // The Docker API service.
  PAGE_NOT_FOUND: entry(404, 'the service does not serve that path'),
  METHOD_NOT_ALLOWED: entry(405, 'the path is served, but not with that method'),
  BAD_JSON: entry(400, 'the request body is not JSON'),
  BODY_TOO_LARGE: entry(413, 'the request body is over its limit'),
  EXEC_NOT_FOUND: entry(404, 'no exec instance has that id (or it was forgotten after it ended)'),
  EXEC_STARTED: entry(409, 'the exec instance was started before'),

  // Registries (the distribution spec's codes, from skiff's registry or a remote one).
  UNAUTHORIZED: entry(401, 'the registry refused the credentials'),
  DENIED: entry(403, 'the registry denied access'),
  NAME_UNKNOWN: entry(404, 'the registry has no repository of that name'),
  NAME_INVALID: entry(400, 'the repository name is malformed'),
  MANIFEST_UNKNOWN: entry(404, 'the registry has no manifest of that tag or digest'),
  MANIFEST_INVALID: entry(400, 'the manifest is malformed'),
  MANIFEST_BLOB_UNKNOWN: entry(400, 'the manifest names a blob the registry lacks'),
  BLOB_UNKNOWN: entry(404, 'the registry has no blob of that digest'),
  BLOB_UPLOAD_UNKNOWN: entry(404, 'the upload session does not exist'),
  BLOB_UPLOAD_INVALID: entry(400, 'the upload is malformed'),
  DIGEST_INVALID: entry(400, 'content does not match its digest'),
  SIZE_INVALID: entry(400, 'content does not match its declared size'),
  TAG_INVALID: entry(400, 'the tag is malformed'),
  TOOMANYREQUESTS: entry(429, 'the registry asks to slow down'),
  UNSUPPORTED: entry(400, 'the registry does not support the operation'),
  RESPONSE_TOO_LARGE: entry(502, 'a registry answered with more than skiff takes'),
  UNKNOWN: entry(500, 'the registry failed'),
  ACCESS_FILE_INVALID: entry(400, 'the access file of `skiff registry serve --access` is malformed', 2),
} satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

const BY_CATEGORY: Record<ErrorCategory, number> = {
  not_found: 404,
  already_exists: 409,
  invalid_argument: 400,
  failed_precondition: 409,
  unavailable: 503,
  data_loss: 500,
  internal: 500,
};

/** The catalogue entry of a code, or undefined for a code a remote registry made up. */
export function errorCodeInfo(code: string): ErrorCodeInfo | undefined {
  return (ERROR_CODES as Record<string, ErrorCodeInfo>)[code];
}

/** The HTTP status of an error with this code and category: the catalogue's, else the category's. */
export function httpStatusOf(code: string, category: ErrorCategory): number {
  return errorCodeInfo(code)?.http ?? BY_CATEGORY[category];
}

/** The CLI's exit status for an error with this code. */
export function exitStatusOf(code: string): number {
  return errorCodeInfo(code)?.exit ?? 1;
}

/** docs/errors.md: the catalogue as a table (its test keeps the doc and the table equal). */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES as Record<string, ErrorCodeInfo>).map(
    ([code, e]) => `| \`${code}\` | ${e.exit} | ${e.http} | ${e.means} |`,
  );
  return [
    '# Error codes',
    '',
    'Every failure skiff reports carries one of these codes (`err.code` for code that embeds',
    '`Engine`). The CLI exits with the exit status; `skiff system service` answers with the',
    'HTTP status and `{"message": …}`. `skiff run` and `skiff create` exit 125 for their own',
    'failures, as `docker run` does, except 126 and 127, which describe the command. This file',
    'is generated from `src/util/error-codes.ts`; its test fails when the two differ.',
    '',
    '| code | exit | HTTP | means |',
    '| ---- | ---- | ---- | ----- |',
    ...rows,
    '',
  ].join('\n');
}
