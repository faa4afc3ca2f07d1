/**
 * Who may do what. Three ways to tell who is calling:
 *  - none: everyone may do everything (a registry on loopback for tests and CI);
 *  - basic (`--htpasswd`): users in the file, by password; callers without credentials are
 *    anonymous and get 401 with `WWW-Authenticate: Basic` when they may not do something;
 *  - bearer (`--token-issuer`, or `--token-realm` with an outside issuer's key): every request
 *    carries a JWT from the token endpoint (Docker "Token Authentication Specification"), whose
 *    `access` claim must grant the request's scope: pull for reads, pull and push for writes
 *    and uploads, delete (or push) for DELETE.
 * And what they may do:
 *  - without an access file, any user may do everything and anonymous callers may pull (our
 *    own issuer grants users what they ask and anonymous callers pull only);
 *  - with one (`--access`, access.ts), only what its rules grant, whichever way the caller
 *    proved who they are: our own issuer puts in a token only what the rules allow (the
 *    intersection with what was asked), and an outside issuer's token must grant the scope
 *    and the rules must too.
 * A request that is not allowed is 401 with the challenge for an anonymous caller (so the
 * client can log in) and 403 DENIED for a user (RFC 6750 section 3.1, insufficient_scope).
 */
import { randomBytes } from 'node:crypto';
import type { AccessAction, AccessPolicy } from './access.js';
import { RegistryError } from './errors.js';
import { basicCredentials, type Htpasswd } from './htpasswd.js';
import { sendJson, type Request, type Response } from './http.js';
import { TokenKey, TokenVerifier, type AccessEntry } from './jwt.js';
import { TokenTrust } from './token-trust.js';

export type Need =
  | { type: 'base' }
  | { type: 'catalog' }
  | { type: 'repository'; name: string; actions: AccessAction[] };

export interface Identity {
  /** Undefined for an anonymous caller (or any caller of a registry without users). */
  user: string | undefined;
}

export interface AuthOptions {
  htpasswd?: Htpasswd;
  /** The access file's rules; without them, users may do everything and anonymous callers pull. */
  access?: AccessPolicy;
  /** Bearer mode. `realm` overrides the token URL derived from the request's Host. */
  token?: {
    issue: boolean;
    realm?: string;
    /** An outside issuer's public key or root certificates (PEM). */
    publicKeyPem?: string;
    /** Our signing key, when several processes must issue and accept the same tokens. */
    privateKeyPem?: string;
    service?: string;
    /** The `iss` tokens carry: our own issuer's name, or the one an outside issuer's must have. */
    issuer?: string;
  };
}

const TOKEN_TTL_SECONDS = 300;
const OWN_ISSUER = 'skiff-registry-token-issuer';

function scopeOf(need: Need): string | undefined {
  if (need.type === 'repository') return `repository:${need.name}:${need.actions.join(',')}`;
  if (need.type === 'catalog') return 'registry:catalog:*';
  return undefined;
}

function describe(need: Need): string {
  if (need.type === 'repository') return `${need.actions.join(',')} \`${need.name}\``;
  return need.type === 'catalog' ? 'list the catalog' : 'use the registry';
}

/** Whether a token's access claim grants `need`. */
function tokenAllows(access: AccessEntry[], need: Need): boolean {
  if (need.type === 'base') return true;
  const type = need.type === 'catalog' ? 'registry' : 'repository';
  const name = need.type === 'catalog' ? 'catalog' : need.name;
  const wanted: string[] = need.type === 'catalog' ? ['*'] : need.actions;
  const granted = new Set(access.filter((a) => a.type === type && a.name === name).flatMap((a) => a.actions));
  return wanted.every((w) => granted.has(w) || granted.has('*') || (w === 'delete' && granted.has('push')));
}

/** A header parameter's value: quotes and backslashes would end or escape it. */
const quoted = (text: string) => `"${text.replace(/["\\]/g, "'")}"`;

export class Authorizer {
  readonly #options: AuthOptions;
  readonly #signer: TokenKey | undefined;
  readonly #verifier: TokenVerifier | undefined;
  readonly #service: string;
  readonly #issuer: string | undefined;

  constructor(options: AuthOptions) {
    this.#options = options;
    const token = options.token;
    this.#service = token?.service ?? 'skiff-registry';
    if (token === undefined) return;
    const expect = (issuer: string | undefined) => ({ audience: this.#service, issuer });
    if (token.issue || token.publicKeyPem === undefined) {
      this.#issuer = token.issuer ?? OWN_ISSUER;
      this.#signer = new TokenKey({ privatePem: token.privateKeyPem });
      this.#verifier = this.#signer.verifier(expect(this.#issuer));
    } else {
      // An outside issuer's `iss` is checked only when we were told what it is.
      this.#issuer = token.issuer;
      this.#verifier = new TokenVerifier(
        TokenTrust.fromPem(token.publicKeyPem, '--token-key'),
        expect(token.issuer),
      );
    }
  }

  get servesTokens(): boolean {
    return this.#options.token?.issue === true;
  }

  #realm(req: Request): string {
    if (this.#options.token?.realm !== undefined) return this.#options.token.realm;
    const secure = 'encrypted' in req.socket && req.socket.encrypted === true;
    return `${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}/token`;
  }

  #bearerChallenge(req: Request, need: Need, error?: string, description?: string): string {
    const scope = scopeOf(need);
    let header = `Bearer realm=${quoted(this.#realm(req))},service=${quoted(this.#service)}`;
    if (scope !== undefined) header += `,scope=${quoted(scope)}`;
    if (error !== undefined) header += `,error=${quoted(error)}`;
    if (description !== undefined) header += `,error_description=${quoted(description)}`;
    return header;
  }

  /** 401 with the challenge the caller should answer (log in, or fetch a token). */
  #unauthorized(req: Request, need: Need, cause: string, error?: string): RegistryError {
    const header =
      this.#verifier !== undefined
        ? this.#bearerChallenge(req, need, error, error === 'invalid_token' ? cause : undefined)
        : 'Basic realm="skiff-registry"';
    return new RegistryError(401, 'UNAUTHORIZED', `${describe(need)}: ${cause}`, {
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

  /** 401 for an anonymous caller, 403 DENIED for a user: they are who they are, and may not. */
  #refused(req: Request, need: Need, user: string | undefined, why: string): RegistryError {
    if (user === undefined)
      return this.#unauthorized(req, need, 'authentication required', 'insufficient_scope');
    const headers: Record<string, string> =
      this.#verifier !== undefined
        ? { 'WWW-Authenticate': this.#bearerChallenge(req, need, 'insufficient_scope') }
        : {};
    return new RegistryError(403, 'DENIED', `${describe(need)}: user \`${user}\` ${why}`, { headers });
  }

  /** Whether the access file lets `user` do `need` (always, without one). */
  #policyAllows(user: string | undefined, need: Need): boolean {
    const policy = this.#options.access;
    if (policy === undefined || need.type === 'base') return true;
    // Any user may list the catalog (it shows only what they may pull); anonymous callers
    // only when some rule lets them pull.
    if (need.type === 'catalog') return user !== undefined || policy.pullsAnything(undefined);
    const granted = policy.actions(user, need.name);
    return need.actions.every((a) => granted.has(a));
  }

  /** Returns who is calling when the request may do `need`; throws 401 or 403 otherwise. */
  async check(req: Request, need: Need): Promise<Identity> {
    if (this.#verifier !== undefined) return this.#checkToken(req, need, this.#verifier);
    const htpasswd = this.#options.htpasswd;
    if (htpasswd === undefined) {
      if (this.#policyAllows(undefined, need)) return { user: undefined };
      throw this.#unauthorized(req, need, 'the access file does not allow it');
    }
    const credentials = basicCredentials(req.headers.authorization);
    if (credentials !== undefined) {
      if (!(await htpasswd.verify(credentials.user, credentials.password)))
        throw this.#unauthorized(req, need, `wrong user name or password for \`${credentials.user}\``);
      if (this.#policyAllows(credentials.user, need)) return { user: credentials.user };
      throw this.#refused(req, need, credentials.user, 'is not allowed by the access file');
    }
    // Without an access file anonymous callers may pull; with one, what its rules say.
    const anonymousMay =
      this.#options.access === undefined
        ? need.type === 'repository' && need.actions.every((a) => a === 'pull')
        : need.type !== 'base' && this.#policyAllows(undefined, need);
    if (anonymousMay) return { user: undefined };
    throw this.#unauthorized(req, need, 'authentication required');
  }

  async #checkToken(req: Request, need: Need, verifier: TokenVerifier): Promise<Identity> {
    const header = req.headers.authorization;
    if (header === undefined || !/^bearer /i.test(header))
      throw this.#unauthorized(req, need, 'authentication required');
    const verified = await verifier.verify(header.slice(7).trim());
    if ('rejected' in verified) throw this.#unauthorized(req, need, verified.rejected, 'invalid_token');
    const user = verified.claims.sub || undefined;
    if (!tokenAllows(verified.claims.access, need))
      throw this.#refused(req, need, user, 'lacks the scope in the token');
    if (!this.#policyAllows(user, need))
      throw this.#refused(req, need, user, 'is not allowed by the access file');
    return { user };
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

  /** Whether the catalog shows `repository` to `who`: only what they may pull, with an access file. */
  lists(who: Identity, repository: string): boolean {
    return this.#options.access?.allows(who.user, repository, 'pull') ?? true;
  }

  /** What our own issuer puts in a token for `user` who asked for `scope` (`type:name:actions`). */
  #grant(user: string | undefined, type: string, name: string, asked: string[]): string[] {
    const policy = this.#options.access;
    if (type === 'registry' && name === 'catalog')
      return this.#policyAllows(user, { type: 'catalog' }) && (user !== undefined || policy !== undefined)
        ? asked.filter((a) => a === '*')
        : [];
    if (type !== 'repository') return [];
    if (policy === undefined)
      return asked.filter((a) =>
        user !== undefined ? ['pull', 'push', 'delete', '*'].includes(a) : a === 'pull',
      );
    const allowed = policy.actions(user, name);
    // `*` asks for everything: the token then names what the rules allow, one by one.
    return [
      ...new Set(
        asked.flatMap((a) => (a === '*' ? [...allowed] : allowed.has(a as AccessAction) ? [a] : [])),
      ),
    ];
  }

  /** GET /token (Docker "Token Authentication Specification", "Requesting a Token"). */
  async issueToken(req: Request, res: Response, url: URL): Promise<void> {
    if (this.#signer === undefined || !this.servesTokens)
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
          { headers: { 'WWW-Authenticate': 'Basic realm="skiff-registry"' } },
        );
      user = credentials.user;
    }
    const access: AccessEntry[] = [];
    for (const scope of url.searchParams.getAll('scope').flatMap((s) => s.split(' '))) {
      const m = /^([a-z0-9]+)(?:\([a-z0-9]+\))?:(.+):([a-z*,]+)$/.exec(scope);
      if (m === null) continue;
      const [, type, name, actions] = m as unknown as [string, string, string, string];
      const granted = this.#grant(user, type, name, actions.split(','));
      if (granted.length > 0) access.push({ type, name, actions: granted });
    }
    const now = Math.floor(Date.now() / 1000);
    const token = await this.#signer.sign({
      sub: user ?? '',
      access,
      iss: this.#issuer ?? OWN_ISSUER,
      aud: this.#service,
      exp: now + TOKEN_TTL_SECONDS,
      nbf: now - 1,
      iat: now,
      jti: randomBytes(12).toString('hex'),
    });
    sendJson(res, 200, {
      token,
      access_token: token,
      expires_in: TOKEN_TTL_SECONDS,
      issued_at: new Date(now * 1000).toISOString(),
    });
  }
}
