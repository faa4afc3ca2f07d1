/**
 * A conversation with one registry: which scheme it speaks, authentication, retries and the
 * registry's errors turned into skiff's.
 *
 * Scheme: https, always verified, unless `--tls-verify=false`. A registry on loopback
 * (127.0.0.0/8, ::1, localhost) may also speak plain http, as Docker's built-in insecure
 * registry 127.0.0.0/8 allows: there plain http is asked first (cheaper to rule out than a TLS
 * set-up), and https when the server does not answer HTTP. `--tls-verify=false` lets any host
 * fall back from https to http, as Podman's.
 *
 * Retries: a request whose body can be sent again is retried on a dropped connection, 429 and
 * 5xx, up to 4 times with back-off (250 ms doubling, or Retry-After).
 */
import { SkiffError, Unavailable, errnoCode } from '../../util/errors.js';
import { Authorizer } from './auth.js';
import { getCredentials, type Credentials } from './credentials.js';
import {
  discard,
  header,
  isLoopback,
  isTransientError,
  readBody,
  type RequestOptions,
  type Response,
  type Transport,
} from './transport.js';

export class RegistryError extends SkiffError {
  constructor(
    code: string,
    category: ConstructorParameters<typeof SkiffError>[1],
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, category, message, options);
  }
}

export interface SessionOptions {
  transport: Transport;
  /**
   * Credentials to use instead of the stored ones (login checks them before storing; an API
   * client sends its own); null: none, ask anonymously.
   */
  credentials?: Credentials | null;
  /** Tests shorten the back-off. */
  retryDelay?: number;
}

const RETRIES = 4;

export class Session {
  readonly auth: Authorizer;
  private base: Promise<string> | undefined;
  readonly transport: Transport;

  constructor(
    readonly registry: string,
    private readonly options: SessionOptions,
  ) {
    this.transport = options.transport;
    const given = options.credentials;
    this.auth = new Authorizer(this.transport, registry, () =>
      given !== undefined ? Promise.resolve(given ?? undefined) : getCredentials(registry),
    );
  }

  /** The registry's API root ("https://host:5000"), learned by the /v2/ ping. */
  baseUrl(signal?: AbortSignal): Promise<string> {
    this.base ??= this.ping(signal);
    this.base.catch(() => {
      this.base = undefined;
    });
    return this.base;
  }

  /**
   * distribution-spec "Determining support": GET /v2/. 200 or 401 both mean a registry;
   * the 401's challenge is kept so the next requests authenticate at once.
   */
  private async ping(signal?: AbortSignal): Promise<string> {
    const host = this.registry === 'docker.io' ? 'registry-1.docker.io' : this.registry;
    const mayUseHttp = isLoopback(host) || this.transport.insecure;
    let res: Response | undefined;
    let base = `https://${host}`;
    // On loopback plain http is asked first: one answer tells, where a TLS attempt at a plain
    // server costs ~60 ms of TLS set-up for nothing. Only the credential-free ping goes out so.
    if (isLoopback(host)) {
      try {
        const plain = await this.transport.request(new URL(`http://${host}/v2/`), { signal });
        // A TLS server answers plain HTTP with 400 ("Client sent an HTTP request to an HTTPS
        // server"): only a registry's 200 or 401 settles it.
        if (plain.status === 200 || plain.status === 401) {
          res = plain;
          base = `http://${host}`;
        } else await discard(plain);
      } catch (err) {
        if (errnoCode(err) === 'ECONNREFUSED') throw this.connectionError(err);
      }
    }
    if (res === undefined) {
      try {
        res = await this.withRetries(() => this.transport.request(new URL(`${base}/v2/`), { signal }), false);
      } catch (err) {
        if (!mayUseHttp || isLoopback(host) || !isTlsFailure(err)) throw this.connectionError(err);
        base = `http://${host}`;
        try {
          res = await this.withRetries(
            () => this.transport.request(new URL(`${base}/v2/`), { signal }),
            false,
          );
        } catch (err2) {
          throw this.connectionError(err2);
        }
      }
    }
    await discard(res);
    if (res.status === 401) await this.auth.unauthorized(header(res, 'www-authenticate'), [], false);
    else if (res.status !== 200)
      throw new RegistryError(
        'NOT_A_REGISTRY',
        'unavailable',
        `${this.registry}: GET /v2/ answered ${res.status}`,
        res.status,
      );
    return base;
  }

  /**
   * An authenticated request to `pathOrUrl` (a path under the base, or an absolute Location a
   * registry handed out). `scopes` are the token scopes it needs. 401 is answered once.
   */
  async request(
    scopes: string[],
    pathOrUrl: string,
    options: RequestOptions & { retry?: boolean } = {},
  ): Promise<Response> {
    const base = await this.baseUrl(options.signal);
    const url = new URL(pathOrUrl, base);
    // A request that changes state on the server part way (an upload chunk) is never repeated blindly.
    const replayable = options.retry !== false;
    const wanted = [...scopes];
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.auth.header(wanted, options.signal);
      const headers = { ...options.headers, ...(authorization ? { Authorization: authorization } : {}) };
      const res = await this.withRetries(
        () => this.transport.request(url, { ...options, headers }),
        replayable,
      );
      if (res.status !== 401 || attempt > 0) return res;
      await discard(res);
      const retry = await this.auth.unauthorized(
        header(res, 'www-authenticate'),
        wanted,
        authorization !== undefined,
      );
      if (!retry) return res;
    }
  }

  /** Runs `send` again on transient failures (dropped connections, 429, 5xx). */
  async withRetries(send: () => Promise<Response>, replayable = true): Promise<Response> {
    const delay = this.options.retryDelay ?? 250;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await send();
      } catch (err) {
        if (!replayable || attempt >= RETRIES || !isTransientError(err)) throw err;
        await sleep(delay * 2 ** attempt);
        continue;
      }
      if (!replayable || attempt >= RETRIES || !(res.status === 429 || res.status >= 500)) return res;
      const after = Number(header(res, 'retry-after'));
      await discard(res);
      await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : delay * 2 ** attempt);
    }
  }

  /** A failure to connect, named by host: "connect to 127.0.0.1:5000: connection refused". */
  connectionError(err: unknown): Error {
    if (err instanceof SkiffError) return err;
    const code = errnoCode(err);
    const cause =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'no such host'
          : (err as Error).message;
    return new Unavailable(`connect to ${this.registry}: ${cause}`, { cause: err });
  }

  /** The registry's error for an unexpected answer: its own `errors[0]` when it sent one. */
  async error(res: Response, what: string): Promise<RegistryError> {
    let detail = '';
    let code = '';
    try {
      const body = JSON.parse((await readBody(res, 1 << 20)).toString('utf8')) as {
        errors?: { code?: string; message?: string }[];
      };
      const first = body.errors?.[0];
      code = first?.code ?? '';
      detail = first?.message ?? first?.code ?? '';
    } catch {
      // Not the spec's error JSON; the status says enough.
    }
    const status = res.status;
    if (status === 401) {
      const known = await this.auth.hasCredentials();
      const cause = known
        ? 'unauthorized: incorrect username or password'
        : 'unauthorized: authentication required (skiff login)';
      return new RegistryError('UNAUTHORIZED', 'failed_precondition', `${what}: ${cause}`, status);
    }
    if (status === 403)
      return new RegistryError(
        'DENIED',
        'failed_precondition',
        `${what}: denied${detail ? `: ${detail}` : ''}`,
        status,
      );
    if (status === 404) {
      const text = detail ? detail.toLowerCase() : 'not found';
      return new RegistryError(code || 'NOT_FOUND', 'not_found', `${what}: ${text}`, status);
    }
    return new RegistryError(
      code || 'REGISTRY_ERROR',
      status >= 500 || status === 429 ? 'unavailable' : 'invalid_argument',
      `${what}: ${this.registry} answered ${status}${detail ? `: ${detail}` : ''}`,
      status,
    );
  }
}

/**
 * The server does not speak TLS at all (a plain-http registry answers the ClientHello with
 * text, or hangs up). A certificate that fails verification is not this: it stays an error.
 */
function isTlsFailure(err: unknown): boolean {
  const code = errnoCode(err) ?? '';
  const message = err instanceof Error ? err.message : '';
  return (
    code === 'EPROTO' || code === 'ECONNRESET' || /wrong version number|packet length too long/i.test(message)
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
