/**
 * Who may do what. Three modes:
 *  - none: everyone may do everything (a registry on loopback for tests and CI);
 *  - basic (`--htpasswd`): users in the file may pull and push everywhere; anonymous callers
 *    may pull (public read) but anything else gets 401 with `WWW-Authenticate: Basic`;
 *  - bearer (`--token-issuer`, or `--token-realm` with an outside issuer's public key): every
 *    request carries a JWT from the token endpoint (Docker "Token Authentication
 *    Specification"); scopes are enforced per repository: pull for GET/HEAD, push for writes,
 *    push or delete for DELETE. Our own issuer grants users what they ask and anonymous
 *    callers pull only; a token that lacks a scope is 401 for an anonymous token (so the
 *    client can log in) and 403 DENIED for a user's (RFC 6750 section 3.1, insufficient_scope).
 */
import { randomBytes } from 'node:crypto';
import { RegistryError } from './errors.js';
import { basicCredentials, type Htpasswd } from './htpasswd.js';
import { sendJson, type Request, type Response } from './http.js';
import { TokenKey, type AccessEntry } from './jwt.js';

export type Need =
  | { type: 'base' }
  | { type: 'catalog' }
  | { type: 'repository'; name: string; actions: string[] };

export interface Identity {
  user: string | undefined;
}

export interface AuthOptions {
  htpasswd?: Htpasswd;
  /** Bearer mode. `realm` overrides the token URL derived from the request's Host. */
  token?: {
    issue: boolean;
    realm?: string;
    publicKeyPem?: string;
    /** The signing key, when several processes must issue and accept the same tokens. */
    privateKeyPem?: string;
    service?: string;
    issuer?: string;
  };
}

const TOKEN_TTL_SECONDS = 300;

function scopeOf(need: Need): string | undefined {
  if (need.type === 'repository') return `repository:${need.name}:${need.actions.join(',')}`;
  if (need.type === 'catalog') return 'registry:catalog:*';
  return undefined;
}

function allows(access: AccessEntry[], need: Need): boolean {
  if (need.type === 'base') return true;
  const type = need.type === 'catalog' ? 'registry' : 'repository';
  const name = need.type === 'catalog' ? 'catalog' : need.name;
  const wanted = need.type === 'catalog' ? ['*'] : need.actions;
  const granted = new Set(access.filter((a) => a.type === type && a.name === name).flatMap((a) => a.actions));
  return wanted.every((w) => granted.has(w) || granted.has('*') || (w === 'delete' && granted.has('push')));
}

export class Authorizer {
  readonly #options: AuthOptions;
  readonly #key: TokenKey | undefined;
  readonly #service: string;
  readonly #issuer: string;

  constructor(options: AuthOptions) {
    this.#options = options;
    this.#service = options.token?.service ?? 'skiff-registry';
    this.#issuer = options.token?.issuer ?? 'skiff-registry-token-issuer';
    if (options.token !== undefined)
      this.#key = new TokenKey({
        publicPem: options.token.publicKeyPem,
        privatePem: options.token.privateKeyPem,
      });
  }

  get servesTokens(): boolean {
    return this.#options.token?.issue === true;
  }

  #realm(req: Request): string {
    if (this.#options.token?.realm !== undefined) return this.#options.token.realm;
    const secure = 'encrypted' in req.socket && req.socket.encrypted === true;
    return `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}/token`;
  }

  #challenge(req: Request, need: Need, message: string, error?: string): RegistryError {
    let header: string;
    if (this.#key !== undefined) {
      const scope = scopeOf(need);
      header = `Bearer realm="${this.#realm(req)}",service="${this.#service}"`;
      if (scope !== undefined) header += `,scope="${scope}"`;
      if (error !== undefined) header += `,error="${error}"`;
    } else {
      header = 'Basic realm="skiff-registry"';
    }
    return new RegistryError(401, 'UNAUTHORIZED', message, {
      headers: { 'WWW-Authenticate': header },
      detail:
        scopeOf(need) === undefined
          ? null
          : [
              {
                Type: need.type,
                Name: 'name' in need ? need.name : 'catalog',
                Action: 'actions' in need ? need.actions.join(',') : '*',
              },
            ],
    });
  }

  /** Returns who is calling when the request may do `need`; throws 401 or 403 otherwise. */
  async check(req: Request, need: Need): Promise<Identity> {
    const what =
      need.type === 'repository'
        ? `${need.actions.join(',')} \`${need.name}\``
        : need.type === 'catalog'
          ? 'list the catalog'
          : 'use the registry';
    if (this.#key !== undefined) {
      const header = req.headers.authorization;
      if (header === undefined || !/^bearer /i.test(header))
        throw this.#challenge(req, need, `${what}: authentication required`);
      const claims = this.#key.verify(header.slice(7).trim(), {
        issuer: this.#issuer,
        audience: this.#service,
      });
      if (claims === undefined)
        throw this.#challenge(req, need, `${what}: invalid or expired token`, 'invalid_token');
      if (allows(claims.access, need)) return { user: claims.sub || undefined };
      if (!claims.sub)
        throw this.#challenge(req, need, `${what}: authentication required`, 'insufficient_scope');
      throw new RegistryError(403, 'DENIED', `${what}: user \`${claims.sub}\` lacks the scope`, {
        headers: {
          'WWW-Authenticate': `Bearer realm="${this.#realm(req)}",service="${this.#service}",scope="${scopeOf(need) ?? ''}",error="insufficient_scope"`,
        },
      });
    }
    const htpasswd = this.#options.htpasswd;
    if (htpasswd === undefined) return { user: undefined };
    const credentials = basicCredentials(req.headers.authorization);
    if (credentials !== undefined) {
      if (await htpasswd.verify(credentials.user, credentials.password)) return { user: credentials.user };
      throw this.#challenge(req, need, `${what}: wrong user name or password for \`${credentials.user}\``);
    }
    const anonymousPull = need.type === 'repository' && need.actions.every((a) => a === 'pull');
    if (anonymousPull) return { user: undefined };
    throw this.#challenge(req, need, `${what}: authentication required`);
  }

  /** Whether the request may pull `name` (a mount's source), without throwing. */
  async mayPull(req: Request, name: string): Promise<boolean> {
    try {
      await this.check(req, { type: 'repository', name, actions: ['pull'] });
      return true;
    } catch {
      return false;
    }
  }

  /** GET /token (Docker "Token Authentication Specification", "Requesting a Token"). */
  async issueToken(req: Request, res: Response, url: URL): Promise<void> {
    if (this.#key === undefined || !this.servesTokens)
      throw new RegistryError(404, 'UNSUPPORTED', 'issue token: this registry has no token endpoint');
    let user: string | undefined;
    const credentials = basicCredentials(req.headers.authorization);
    if (credentials !== undefined) {
      const ok = (await this.#options.htpasswd?.verify(credentials.user, credentials.password)) ?? false;
      if (!ok)
        throw new RegistryError(
          401,
          'UNAUTHORIZED',
          `issue token: wrong user name or password for \`${credentials.user}\``,
          {
            headers: { 'WWW-Authenticate': 'Basic realm="skiff-registry"' },
          },
        );
      user = credentials.user;
    }
    const access: AccessEntry[] = [];
    for (const scope of url.searchParams.getAll('scope').flatMap((s) => s.split(' '))) {
      const m = /^([a-z0-9]+)(?:\([a-z0-9]+\))?:(.+):([a-z*,]+)$/.exec(scope);
      if (m === null) continue;
      const [, type, name, actions] = m as unknown as [string, string, string, string];
      const asked = actions.split(',');
      let granted: string[];
      if (type === 'repository')
        granted =
          user !== undefined
            ? asked.filter((a) => ['pull', 'push', 'delete', '*'].includes(a))
            : asked.filter((a) => a === 'pull');
      else if (type === 'registry' && name === 'catalog')
        granted = user !== undefined ? asked.filter((a) => a === '*') : [];
      else granted = [];
      if (granted.length > 0) access.push({ type, name, actions: granted });
    }
    const now = Math.floor(Date.now() / 1000);
    const token = this.#key.sign({
      iss: this.#issuer,
      sub: user ?? '',
      aud: this.#service,
      exp: now + TOKEN_TTL_SECONDS,
      nbf: now - 1,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    });
    sendJson(res, 200, {
      token,
      access_token: token,
      expires_in: TOKEN_TTL_SECONDS,
      issued_at: new Date(now * 1000).toISOString(),
    });
  }
}
