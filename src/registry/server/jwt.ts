/**
 * The bearer tokens of Docker's token authentication ("Token Authentication Specification",
 * "Token Authentication Implementation"): JWTs signed ES256 with a key made when the server
 * starts, carrying an `access` claim of `{type, name, actions}` entries. Only this server
 * issues and reads them, so the key never leaves it (its worker processes share it); a
 * restart invalidates tokens, and clients simply fetch new ones.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface Claims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: AccessEntry[];
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export class TokenKey {
  readonly #private: KeyObject;
  readonly #public: KeyObject;
  readonly kid: string;

  /**
   * A fresh ES256 key, or `privatePem` (one key shared by the processes of `--workers`), or an
   * outside issuer's `publicPem`, which can only verify.
   */
  constructor(options: { publicPem?: string; privatePem?: string } = {}) {
    if (options.privatePem !== undefined) {
      this.#private = createPrivateKey(options.privatePem);
      this.#public = createPublicKey(this.#private);
    } else if (options.publicPem !== undefined) {
      this.#public = createPublicKey(options.publicPem);
      this.#private = this.#public;
    } else {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      this.#private = pair.privateKey;
      this.#public = pair.publicKey;
    }
    const der = this.#public.export({ type: 'spki', format: 'der' });
    this.kid = createHash('sha256').update(der).digest('hex').slice(0, 16);
  }

  /** A new ES256 private key as PKCS#8 PEM, to hand to worker processes. */
  static generatePem(): string {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  sign(claims: Claims): string {
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid: this.kid }));
    const payload = b64url(JSON.stringify(claims));
    // JWS (RFC 7518 section 3.4) wants the raw r||s form, not DER.
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
      key: this.#private,
      dsaEncoding: 'ieee-p1363',
    });
    return `${header}.${payload}.${b64url(signature)}`;
  }

  /** The claims when the signature, issuer, audience and times hold; else undefined. */
  verify(
    token: string,
    expect: { issuer: string; audience: string },
    now = Date.now() / 1000,
  ): Claims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    let alg: unknown;
    let claims: Claims;
    try {
      alg = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown }).alg;
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims;
    } catch {
      return undefined;
    }
    const keyType = this.#public.asymmetricKeyType;
    const options =
      alg === 'ES256' && keyType === 'ec'
        ? { key: this.#public, dsaEncoding: 'ieee-p1363' as const }
        : alg === 'RS256' && keyType === 'rsa'
          ? { key: this.#public }
          : undefined;
    if (options === undefined) return undefined;
    if (!verify('sha256', Buffer.from(`${header}.${payload}`), options, Buffer.from(signature, 'base64url')))
      return undefined;
    const leeway = 60;
    if (claims.iss !== expect.issuer || claims.aud !== expect.audience) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp + leeway < now) return undefined;
    if (typeof claims.nbf === 'number' && claims.nbf - leeway > now) return undefined;
    if (!Array.isArray(claims.access)) return undefined;
    return claims;
  }
}
