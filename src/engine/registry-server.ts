/**
 * `skiff registry serve` and `skiff registry gc` behind Engine's static methods. They work on a
 * registry's own root directory, never on skiff's store, so they need no Engine instance (and
 * the CLI opens no store for them). Loaded by the calls that use them: no other verb parses
 * the registry server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AccessPolicy } from '../registry/server/access.js';
import { collectGarbage, type GcReport } from '../registry/server/gc.js';
import { Htpasswd } from '../registry/server/htpasswd.js';
import { TokenKey } from '../registry/server/jwt.js';
import { RegistryServer, type RunningRegistry } from '../registry/server/server.js';
import { InvalidArgument } from '../util/errors.js';

export type { GcReport as RegistryGcReport, RunningRegistry };

/** A registry server made (its users and keys read) but not yet listening. */
export interface RegistryServerHandle {
  /** Listens on the options' host and port; resolves once it does. */
  listen(): Promise<RunningRegistry>;
}

export interface RegistryServeOptions {
  /** The registry's own directory (blobs/, repositories/, uploads/); made when missing. */
  root: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
  /** An htpasswd file of users (bcrypt); without `access`, anonymous callers may only pull. */
  htpasswd?: string;
  /**
   * An access file (YAML; access.ts): which users and groups may pull, push or delete in which
   * repositories. Read once, here; a malformed one fails with ACCESS_FILE_INVALID and its line.
   */
  access?: string;
  /** Docker token auth. */
  token?: {
    /** Issue tokens at our own /token endpoint (users from `htpasswd`). */
    issue: boolean;
    /** The token URL in challenges, for an outside issuer (or to override ours). */
    realm?: string;
    /** The service name in challenges and tokens. */
    service?: string;
    /** The `iss` of tokens: ours, or the one an outside issuer's must carry (unchecked by default). */
    issuer?: string;
    /** A PEM file with an outside issuer's public key, or certificates of trusted roots (x5c). */
    publicKeyFile?: string;
    /** The signing key (PKCS#8 PEM) that several processes of one registry share. */
    privateKeyPem?: string;
  };
  /** One line per request. */
  log?: (line: string) => void;
  /** Upload sessions idle this long are dropped (default 24 hours; also at start). */
  uploadTtlMs?: number;
  /** Most bytes of one uploaded blob (default: no limit). */
  maxUploadBytes?: number;
  /** Most bytes of blobs one repository may link (default: no limit). */
  repoQuotaBytes?: number;
}

/**
 * The distribution API server for `options.root`. Its htpasswd file and keys are read here,
 * so that bad ones fail before it listens (and before `--workers` forks processes for it).
 */
export function registryServer(options: RegistryServeOptions): RegistryServerHandle {
  const { token } = options;
  const server = new RegistryServer({
    root: options.root,
    tls: options.tls,
    auth: {
      htpasswd: options.htpasswd === undefined ? undefined : new Htpasswd(options.htpasswd),
      access: options.access === undefined ? undefined : AccessPolicy.read(options.access),
      token: token && {
        issue: token.issue,
        realm: token.realm,
        service: token.service,
        issuer: token.issuer,
        privateKeyPem: token.privateKeyPem,
        // An issuer of our own signs and checks with its own key; an outside one's is only checked.
        publicKeyPem:
          token.publicKeyFile === undefined || token.issue
            ? undefined
            : fs.readFileSync(token.publicKeyFile, 'utf8'),
      },
    },
    log: options.log,
    uploadTtlMs: options.uploadTtlMs,
    maxUploadBytes: options.maxUploadBytes,
    repoQuotaBytes: options.repoQuotaBytes,
  });
  return { listen: () => server.listen(options.host, options.port) };
}

/** A new token signing key (PKCS#8 PEM), for the processes of one registry to share. */
export function newRegistryTokenKey(): string {
  return TokenKey.generatePem();
}

/**
 * Removes the blobs no manifest references (those younger than `graceMs`, default an hour,
 * stay: a push may be linking them), stale upload sessions and dead links. Safe while a
 * server serves the same root.
 */
export async function collectRegistryGarbage(
  root: string,
  options: { dryRun?: boolean; graceMs?: number } = {},
): Promise<GcReport> {
  if (!fs.existsSync(root)) throw new InvalidArgument(`registry gc: \`${root}\`: no such directory`);
  if (!fs.existsSync(path.join(root, 'blobs')) || !fs.existsSync(path.join(root, 'repositories')))
    throw new InvalidArgument(`registry gc: \`${root}\`: not a registry root (no blobs/ and repositories/)`);
  return collectGarbage(root, options);
}
