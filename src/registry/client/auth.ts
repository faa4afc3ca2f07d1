/**
 * Registry authentication as Docker does it: a request gets 401 with a `WWW-Authenticate`
 * challenge (RFC 7235). `Basic` means send the stored credentials on every request; `Bearer`
 * (Docker's token auth spec, docs/spec/auth/token.md) means ask the challenge's realm for a
 * token for `service` and the scopes needed ("repository:team/app:pull,push"), with the
 * credentials if there are any and anonymously otherwise, and send that token. Tokens are
 * cached per set of scopes until they expire; a 401 despite a token refreshes it once.
 */
import { SkiffError } from '../../util/errors.js';
import type { Credentials } from './credentials.js';
import { readBody, type Transport } from './transport.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://a/token",service="reg",scope="repository:x:pull"` → scheme and params. */
export function parseChallenge(value: string): Challenge | undefined {
  const match = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(value);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/g;
  for (const m of match[2]!.matchAll(re)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

export class Unauthorized extends SkiffError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAUTHORIZED', 'failed_precondition', message, options);
  }
}

interface Token {
  value: string;
  expires: number;
}

/** The authorisation state for one registry host. */
export class Authorizer {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, Token>();
  private credentials: Promise<Credentials | undefined> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly registry: string,
    private readonly loadCredentials: () => Promise<Credentials | undefined>,
  ) {}

  /** The Authorization header for a request needing `scopes`, once a challenge told us how. */
  async header(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') {
      const creds = await this.creds();
      if (creds === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    if (challenge.scheme === 'bearer') {
      const key = [...new Set(scopes)].sort().join(' ');
      const cached = this.tokens.get(key);
      if (cached !== undefined && cached.expires > Date.now()) return `Bearer ${cached.value}`;
      const token = await this.fetchToken(challenge, scopes, signal);
      this.tokens.set(key, token);
      return `Bearer ${token.value}`;
    }
    return undefined;
  }

  /**
   * Takes in a 401's challenge. True when a retry may succeed: the first challenge, or a
   * bearer token that the registry no longer accepts (it is dropped and fetched again).
   */
  async unauthorized(
    wwwAuthenticate: string | undefined,
    scopes: string[],
    hadHeader: boolean,
  ): Promise<boolean> {
    const challenge = wwwAuthenticate === undefined ? undefined : parseChallenge(wwwAuthenticate);
    if (challenge === undefined) return false;
    const fresh = this.challenge === undefined || this.challenge.scheme !== challenge.scheme;
    this.challenge = challenge;
    if (challenge.scheme === 'bearer') {
      // The registry may ask for more than we did (a mount's source repository, say).
      const extra = challenge.params['scope'];
      if (extra !== undefined) for (const s of extra.split(' ')) if (!scopes.includes(s)) scopes.push(s);
      this.tokens.delete([...new Set(scopes)].sort().join(' '));
      return fresh || hadHeader;
    }
    if (challenge.scheme === 'basic') return !hadHeader && (await this.creds()) !== undefined;
    return false;
  }

  /** Whether any credentials are known (for error messages: "wrong password" vs "log in"). */
  async hasCredentials(): Promise<boolean> {
    return (await this.creds()) !== undefined;
  }

  private creds(): Promise<Credentials | undefined> {
    this.credentials ??= this.loadCredentials();
    return this.credentials;
  }

  /** Docker token auth spec, "Requesting a Token": GET realm?service=…&scope=…, Basic if we can. */
  private async fetchToken(challenge: Challenge, scopes: string[], signal?: AbortSignal): Promise<Token> {
    const realm = challenge.params['realm'];
    if (!realm) throw new Unauthorized(`authenticate to ${this.registry}: bearer challenge without a realm`);
    const url = new URL(realm);
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
    for (const scope of new Set(scopes)) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    const creds = await this.creds();
    if (creds !== undefined)
      headers['Authorization'] =
        `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const res = await this.transport.request(url, { headers, signal });
    const body = await readBody(res, 1 << 20);
    if (res.status === 401 || res.status === 403) {
      throw new Unauthorized(
        `authenticate to ${this.registry}: ${creds ? 'incorrect username or password' : 'authentication required (skiff login)'}`,
      );
    }
    if (res.status !== 200)
      throw new Unauthorized(
        `authenticate to ${this.registry}: token server ${url.host} answered ${res.status}`,
      );
    let parsed: { token?: string; access_token?: string; expires_in?: number };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new Unauthorized(`authenticate to ${this.registry}: token server sent no JSON`);
    }
    const value = parsed.token ?? parsed.access_token;
    if (!value) throw new Unauthorized(`authenticate to ${this.registry}: token server sent no token`);
    // The spec's default lifetime is 60 s; renew 10 s early so a token never expires in flight.
    const seconds = Math.max(parsed.expires_in ?? 60, 20);
    return { value, expires: Date.now() + (seconds - 10) * 1000 };
  }
}
