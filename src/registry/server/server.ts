/**
 * The registry server: the distribution-spec v1.1 API on node:http or node:https. Each request
 * is routed (routes.ts), authorised (auth.ts) and handled; there is no global lock on the hot
 * path, only per-upload-session ordering and gc's brief shared file lock when a blob is
 * committed.
 */
import { nodeHttp, nodeHttps } from '../../util/lazy-node.js';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../../util/errors.js';
import { Authorizer, type AuthOptions, type Need } from './auth.js';
import { deleteBlob, getBlob } from './blob-handlers.js';
import { RegistryError } from './errors.js';
import { pageOf, paginate, sendError, sendJson, type Request, type Response } from './http.js';
import { deleteManifest, getManifest, listReferrers, putManifest } from './manifest-handlers.js';
import { route, type Route } from './routes.js';
import { RegistryStorage } from './storage.js';
import {
  cancelUpload,
  finishUpload,
  patchUpload,
  startUpload,
  uploadStatus,
  type UploadContext,
} from './upload-handlers.js';
import { Quotas } from './quota.js';
import { UploadSessions } from './upload-sessions.js';

export interface ServerOptions {
  root: string;
  tls?: { cert: string; key: string };
  auth?: AuthOptions;
  /** One line per request, when given. */
  log?: (line: string) => void;
  /** Upload sessions idle this long are removed, by the server itself (default 24 hours). */
  uploadTtlMs?: number;
  /** Most bytes of one uploaded blob; no limit by default. */
  maxUploadBytes?: number;
  /** Most bytes of blobs one repository links; no limit by default. */
  repoQuotaBytes?: number;
}

/** Long enough for a push paused overnight to resume, short enough that abandoned ones go. */
export const DEFAULT_UPLOAD_TTL_MS = 24 * 3_600_000;

export interface RunningRegistry {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const READS = new Set(['GET', 'HEAD']);

export class RegistryServer {
  readonly storage: RegistryStorage;
  readonly uploads: UploadSessions;
  readonly quotas: Quotas;
  readonly #auth: Authorizer;
  readonly #options: ServerOptions;

  constructor(options: ServerOptions) {
    this.#options = options;
    this.storage = new RegistryStorage(options.root);
    this.quotas = new Quotas(this.storage, options);
    this.uploads = new UploadSessions(this.storage, this.quotas);
    this.#auth = new Authorizer(options.auth ?? {});
  }

  /** Listens on `host:port` (port 0 picks one). */
  async listen(host: string, port: number): Promise<RunningRegistry> {
    const handler = (req: Request, res: Response) => void this.handle(req, res);
    const tls = this.#options.tls;
    const server = tls
      ? nodeHttps().createServer({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) }, handler)
      : nodeHttp().createServer(handler);
    server.keepAliveTimeout = 30_000;
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const ttl = this.#options.uploadTtlMs ?? DEFAULT_UPLOAD_TTL_MS;
    const sweep = () => {
      try {
        this.uploads.sweep(ttl);
      } catch (err) {
        this.#options.log?.(`sweep uploads: ${describeError(err)}`);
      }
    };
    // Once at start too: sessions abandoned while no server ran (a crash, a restart) go at once.
    sweep();
    const sweeper = setInterval(sweep, Math.min(ttl, 600_000));
    sweeper.unref();
    const actual = (server.address() as AddressInfo).port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return {
      server,
      port: actual,
      url: `${tls ? 'https' : 'http'}://${shownHost}:${actual}`,
      close: () =>
        new Promise<void>((resolve) => {
          clearInterval(sweeper);
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }

  async handle(req: Request, res: Response): Promise<void> {
    const started = Date.now();
    res.on('finish', () =>
      this.#options.log?.(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`),
    );
    try {
      const target = req.url ?? '/';
      const url = new URL(target, 'http://registry');
      // The raw path, not url.pathname: the URL parser would resolve `..` before we saw it.
      const pathname = target.split('?')[0]!;
      const found = route(pathname);
      if (found === undefined)
        throw new RegistryError(404, 'UNSUPPORTED', `route \`${pathname}\`: not a registry endpoint`);
      await this.#dispatch(found, req, res, url);
    } catch (err) {
      // Only a connection that is gone gets no answer; anything else must not leave a client waiting.
      if (res.destroyed || res.writableEnded) return;
      const error = this.#asRegistryError(err, req);
      if (!req.readableEnded) {
        // A body we did not read: answer, then close rather than read gigabytes for nothing.
        res.shouldKeepAlive = false;
        req.resume();
      }
      sendError(res, error);
    }
  }

  #asRegistryError(err: unknown, req: Request): RegistryError {
    if (err instanceof RegistryError) return err;
    if (err instanceof URIError)
      return new RegistryError(400, 'NAME_INVALID', `decode \`${req.url}\`: ${err.message}`);
    this.#options.log?.(`${req.method} ${req.url}: ${describeError(err)}`);
    return new RegistryError(500, 'UNKNOWN', `${req.method} \`${req.url}\`: ${describeError(err)}`);
  }

  async #dispatch(r: Route, req: Request, res: Response, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const notAllowed = () =>
      new RegistryError(405, 'UNSUPPORTED', `${method} \`${url.pathname}\`: method not allowed`);
    if (r.kind === 'token') {
      if (!READS.has(method)) throw notAllowed();
      await this.#auth.issueToken(req, res, url);
      return;
    }
    if (r.kind === 'base') {
      await this.#auth.check(req, { type: 'base' });
      sendJson(res, 200, {});
      return;
    }
    if (r.kind === 'catalog') {
      const who = await this.#auth.check(req, { type: 'catalog' });
      const visible = this.storage.repositories().filter((name) => this.#auth.lists(who, name));
      const { items, headers } = paginate(visible, pageOf(url), '/v2/_catalog');
      sendJson(res, 200, { repositories: items }, headers);
      return;
    }
    // An upload session is part of a push whatever the method (its status, its cancelling),
    // as Docker's distribution has it; elsewhere reads pull, DELETE deletes, writes push.
    const uploading = r.kind === 'uploads' || r.kind === 'upload';
    const need: Need = {
      type: 'repository',
      name: r.name,
      actions:
        READS.has(method) && !uploading
          ? ['pull']
          : method === 'DELETE' && !uploading
            ? ['delete']
            : ['pull', 'push'],
    };
    await this.#auth.check(req, need);
    const s = this.storage;
    switch (r.kind) {
      case 'manifest':
        if (READS.has(method)) return getManifest(s, req, res, r.name, r.reference);
        if (method === 'PUT') return putManifest(s, req, res, r.name, r.reference, url);
        if (method === 'DELETE') return deleteManifest(s, res, r.name, r.reference);
        throw notAllowed();
      case 'blob':
        if (READS.has(method)) return getBlob(s, req, res, r.name, r.digest);
        if (method === 'DELETE') return deleteBlob(s, res, r.name, r.digest);
        throw notAllowed();
      case 'uploads':
        if (method === 'POST') return startUpload(this.#uploadContext(req), req, res, r.name, url);
        throw notAllowed();
      case 'upload': {
        const ctx = this.#uploadContext(req);
        if (method === 'PATCH') return patchUpload(ctx, req, res, r.name, r.uuid);
        if (method === 'PUT') return finishUpload(ctx, req, res, r.name, r.uuid, url);
        if (READS.has(method)) return uploadStatus(ctx, res, r.name, r.uuid);
        if (method === 'DELETE') return cancelUpload(ctx, res, r.name, r.uuid);
        throw notAllowed();
      }
      case 'tags': {
        if (!READS.has(method)) throw notAllowed();
        if (!s.repoExists(r.name))
          throw new RegistryError(
            404,
            'NAME_UNKNOWN',
            `list tags of \`${r.name}\`: repository unknown to the registry`,
            {
              detail: { name: r.name },
            },
          );
        const { items, headers } = paginate(s.tags(r.name), pageOf(url), `/v2/${r.name}/tags/list`);
        sendJson(res, 200, { name: r.name, tags: items }, headers);
        return;
      }
      case 'referrers':
        if (!READS.has(method)) throw notAllowed();
        return listReferrers(s, res, r.name, r.digest, url);
    }
  }

  #uploadContext(req: Request): UploadContext {
    return {
      storage: this.storage,
      uploads: this.uploads,
      quotas: this.quotas,
      canPull: (name) => this.#auth.mayPull(req, name),
    };
  }
}
