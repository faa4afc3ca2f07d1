/**
 * The registry client as the engine sees it: one transport (keep-alive connections shared by
 * every request of a command), one session per registry, and the four verbs.
 */
import { formatReference, parseReference, type Reference } from '../../oci/reference.js';
import type { Platform } from '../../oci/platform.js';
import { InvalidArgument, SkiffError } from '../../util/errors.js';
import type { Store } from '../../store/store.js';
import { eraseCredentials, storeCredentials, type Credentials } from './credentials.js';
import { pullImage, type PullOptions, type PullResult } from './pull.js';
import { pushImage, type PushOptions, type PushResult } from './push.js';
import { RegistryError, Session } from './session.js';
import { discard } from './transport.js';
import { Transport } from './transport.js';

export interface ClientOptions {
  /** `--tls-verify=false`: accept any certificate, and plain http from any host. */
  insecure?: boolean;
  /** Back-off base in ms between retries (tests shorten it). */
  retryDelay?: number;
  /**
   * Credentials by registry (`host:port`, or a URL naming it) to use instead of those stored in
   * Docker's config.json: an API client sends its own with each request. A registry not in it
   * is asked anonymously.
   */
  credentials?: Record<string, Credentials>;
}

export class RegistryClient {
  private readonly transport: Transport;
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly options: ClientOptions = {}) {
    this.transport = new Transport({ insecure: options.insecure });
  }

  session(registry: string): Session {
    let session = this.sessions.get(registry);
    if (session === undefined) {
      session = new Session(registry, {
        transport: this.transport,
        retryDelay: this.options.retryDelay,
        credentials: this.givenCredentials(registry),
      });
      this.sessions.set(registry, session);
    }
    return session;
  }

  async pull(
    store: Store,
    reference: string,
    options: PullOptions & { platform?: Platform } = {},
  ): Promise<PullResult> {
    const ref = parseReference(reference);
    return named(`pull \`${formatReference(ref)}\``, () =>
      pullImage(store, this.session(ref.registry), ref, options),
    );
  }

  /** Pushes local image `source` to `target` (default: the same name). */
  async push(
    store: Store,
    source: string,
    target: string = source,
    options: PushOptions = {},
  ): Promise<PushResult> {
    const ref: Reference = parseReference(target);
    if (ref.digest !== undefined)
      throw new InvalidArgument(`push \`${target}\`: cannot push to a digest; name a tag`);
    return named(`push \`${formatReference(ref)}\``, () =>
      pushImage(store, this.session(ref.registry), source, ref, options),
    );
  }

  /** The credentials the caller gave for `registry`: null for none, undefined to use the stored ones. */
  private givenCredentials(registry: string): Credentials | null | undefined {
    const given = this.options.credentials;
    if (given === undefined) return undefined;
    for (const [key, credentials] of Object.entries(given))
      if (key !== '' && normaliseRegistry(key) === registry) return credentials;
    return null;
  }

  /**
   * Checks the credentials against the registry (its /v2/ with them: Basic, or a token got
   * with them) and stores them only if it accepts them. Returns where they were stored.
   */
  async login(registry: string, credentials: Credentials, signal?: AbortSignal): Promise<string> {
    const host = await this.verify(registry, credentials, signal);
    return storeCredentials(host, credentials);
  }

  /**
   * Checks the credentials against the registry without storing them (the API service's
   * `/auth`: its client keeps them). Returns the registry's normalised name.
   */
  async verify(registry: string, credentials: Credentials, signal?: AbortSignal): Promise<string> {
    const host = normaliseRegistry(registry);
    const session = new Session(host, {
      transport: this.transport,
      credentials,
      retryDelay: this.options.retryDelay,
    });
    return named(`login to ${host}`, async () => {
      const res = await session.request([], '/v2/', { signal });
      if (res.status === 401) {
        await discard(res);
        throw new RegistryError(
          'UNAUTHORIZED',
          'failed_precondition',
          'unauthorized: incorrect username or password',
          401,
        );
      }
      if (res.status !== 200) throw await session.error(res, `login to ${host}`);
      await discard(res);
      return host;
    });
  }

  async logout(registry: string): Promise<boolean> {
    return eraseCredentials(normaliseRegistry(registry));
  }

  close(): void {
    this.transport.close();
  }
}

/** Errors that do not say which image they are about get its name in front. */
async function named<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SkiffError && !err.message.startsWith(what))
      throw new RegistryError(err.code, err.category, `${what}: ${err.message}`, undefined, { cause: err });
    throw err;
  }
}

/** "https://host:5000/v2/" or "host:5000" → "host:5000"; Docker Hub's names → docker.io. */
export function normaliseRegistry(input: string): string {
  const host = input.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === '') throw new InvalidArgument(`login: no registry named`);
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}
