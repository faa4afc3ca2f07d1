/**
 * The bearer tokens of Docker's token authentication ("Token Authentication Specification",
 * "Token Authentication Implementation"): JWTs carrying an `access` claim of
 * `{type, name, actions}` entries. Signing and verifying is `jose`'s; this file decides what a
 * token must hold:
 *  - the signature, with the one algorithm the key takes (algorithmOf: an EC P-256 key only
 *    ES256, an RSA key only RS256; `none` and HMAC never), by a trusted key or by the leaf of
 *    an `x5c` chain that leads to a trusted root (TokenTrust);
 *  - `aud` naming the service (a string, or a list that contains it), `iss` when one is
 *    expected, `exp` present, and `exp`, `nbf` and `iat` right within LEEWAY_SECONDS.
 * Each refusal is a short phrase for the 401's `error_description`, never jose's or Node's
 * own text.
 *
 * Our own issuer (`--token-issuer`) signs ES256 with a key made when the server starts, or one
 * the processes of `--workers` share; a restart invalidates its tokens, and clients simply
 * fetch new ones.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { algorithmOf, TokenTrust } from './token-trust.js';

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** What a verified token says: who (empty for an anonymous token) and what they may do. */
export interface TokenClaims {
  sub: string;
  access: AccessEntry[];
}

/** The claims our own issuer signs. */
export interface IssuedClaims extends TokenClaims {
  iss: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
}

export type Verified = { claims: TokenClaims } | { rejected: string };

/** Clocks of issuer and registry may differ this much (Docker's distribution allows 60 s too). */
export const LEEWAY_SECONDS = 60;

export interface TokenExpectations {
  /** The service name: `aud` must be it or contain it. */
  audience: string;
  /** `iss` must be this, when given. */
  issuer?: string;
}

const when = (seconds: unknown) =>
  typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : String(seconds);

/** jose's refusal as a phrase of our own. */
function refusal(err: unknown, expect: TokenExpectations): string {
  if (err instanceof errors.JWTExpired) return `the token expired at ${when(err.payload.exp)}`;
  if (err instanceof errors.JWTClaimValidationFailed) {
    const value = JSON.stringify(err.payload[err.claim]);
    if (err.reason === 'missing') return `the token has no \`${err.claim}\` claim`;
    if (err.claim === 'aud') return `the token's audience ${value} does not include \`${expect.audience}\``;
    if (err.claim === 'iss') return `the token's issuer ${value} is not \`${expect.issuer ?? ''}\``;
    if (err.claim === 'nbf') return `the token is not valid before ${when(err.payload.nbf)}`;
    return `the token's \`${err.claim}\` claim is invalid`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed) return "the token's algorithm does not fit the key";
  return 'the token is malformed';
}

function accessOf(payload: JWTPayload): AccessEntry[] | undefined {
  const access = payload['access'] ?? [];
  if (!Array.isArray(access)) return undefined;
  const ok = access.every(
    (a: unknown) =>
      typeof a === 'object' &&
      a !== null &&
      typeof (a as AccessEntry).type === 'string' &&
      typeof (a as AccessEntry).name === 'string' &&
      Array.isArray((a as AccessEntry).actions) &&
      (a as AccessEntry).actions.every((x) => typeof x === 'string'),
  );
  return ok ? (access as AccessEntry[]) : undefined;
}

export class TokenVerifier {
  readonly #trust: TokenTrust;
  readonly #expect: TokenExpectations;

  constructor(trust: TokenTrust, expect: TokenExpectations) {
    this.#trust = trust;
    this.#expect = expect;
  }

  async verify(token: string, now = new Date()): Promise<Verified> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return { rejected: 'the token is not a JWT' };
    }
    const alg = String(header.alg);
    if (alg === 'none') return { rejected: 'an unsigned token (alg none) is never accepted' };
    if (/^HS\d+$/.test(alg))
      return {
        rejected: `an HMAC token (${alg}) is never accepted; the issuer must sign with its private key`,
      };
    let keys: KeyObject[];
    if (header.x5c !== undefined) {
      const leaf = this.#trust.leafKey(header.x5c, now);
      if ('rejected' in leaf) return leaf;
      keys = [leaf];
    } else {
      keys = this.#trust.keys;
    }
    const fitting = keys.filter((key) => algorithmOf(key) === alg);
    if (fitting.length === 0) {
      const takes = [...new Set(keys.map(algorithmOf))].join(' or ');
      return { rejected: `the token is signed ${alg}, but the issuer's key takes ${takes}` };
    }
    let lastRefusal = 'the token signature does not verify';
    for (const key of fitting) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [alg],
          audience: this.#expect.audience,
          issuer: this.#expect.issuer,
          requiredClaims: ['exp'],
          clockTolerance: LEEWAY_SECONDS,
          currentDate: now,
        });
        // jose checks iat only for age; a token from the future means a wrong clock or a forgery.
        if (typeof payload.iat === 'number' && payload.iat > now.getTime() / 1000 + LEEWAY_SECONDS)
          return { rejected: `the token was issued in the future (${when(payload.iat)})` };
        const access = accessOf(payload);
        if (access === undefined) return { rejected: "the token's access claim is not a list of grants" };
        return { claims: { sub: typeof payload.sub === 'string' ? payload.sub : '', access } };
      } catch (err) {
        lastRefusal = refusal(err, this.#expect);
        // Another trusted key may have signed it; any other refusal is final.
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) return { rejected: lastRefusal };
      }
    }
    return { rejected: lastRefusal };
  }
}

export class TokenKey {
  readonly #private: KeyObject;
  readonly public: KeyObject;
  readonly kid: string;

  /** A fresh ES256 key, or `privatePem` (one key shared by the processes of `--workers`). */
  constructor(options: { privatePem?: string } = {}) {
    if (options.privatePem !== undefined) {
      this.#private = createPrivateKey(options.privatePem);
      this.public = createPublicKey(this.#private);
    } else {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      this.#private = pair.privateKey;
      this.public = pair.publicKey;
    }
    const der = this.public.export({ type: 'spki', format: 'der' });
    this.kid = createHash('sha256').update(der).digest('hex').slice(0, 16);
  }

  /** A new ES256 private key as PKCS#8 PEM, to hand to worker processes. */
  static generatePem(): string {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  sign(claims: IssuedClaims): Promise<string> {
    const alg = algorithmOf(this.public) ?? 'ES256';
    return new SignJWT({ ...claims })
      .setProtectedHeader({ typ: 'JWT', alg, kid: this.kid })
      .sign(this.#private);
  }

  /** Checks tokens this key signed. */
  verifier(expect: TokenExpectations): TokenVerifier {
    return new TokenVerifier(new TokenTrust([this.public]), expect);
  }
}
