/**
 * What an outside token issuer is trusted by (`--token-key PEM`): a public key, or a bundle of
 * certificates whose public keys are trusted and which also act as roots for tokens that carry
 * their signer's certificate chain in the JWS `x5c` header, as Docker's distribution does
 * (its `rootcertbundle`): the chain must lead, certificate by certificate, to one of the
 * roots, every certificate must be within its validity, every issuer must be a CA, and then
 * the leaf's public key is the one the signature is checked with.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { InvalidArgument } from '../../util/errors.js';

/** The one JWS algorithm each supported key takes: an ES256 key never verifies RS256 and so on. */
export function algorithmOf(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'prime256v1') return 'ES256';
  if (curve === 'secp384r1') return 'ES384';
  if (curve === 'secp521r1') return 'ES512';
  return undefined;
}

/** `CN=a\nO=b` (Node's form) as `CN=a, O=b`, for one-line messages. */
const oneLine = (name: string) => name.split('\n').join(', ');

export class TokenTrust {
  /** Public keys a token without `x5c` may be signed with. */
  readonly keys: KeyObject[];
  /** Roots an `x5c` chain must lead to. */
  readonly roots: X509Certificate[];

  constructor(keys: KeyObject[], roots: X509Certificate[] = []) {
    this.keys = keys;
    this.roots = roots;
  }

  /**
   * The PEM of `--token-key`: PUBLIC KEY blocks, CERTIFICATE blocks, or both. `source` names it
   * in errors, which are thrown at start so that a bad key never reaches a request.
   */
  static fromPem(pem: string, source: string): TokenTrust {
    const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
    const keys: KeyObject[] = [];
    const roots: X509Certificate[] = [];
    const fail = (what: string) => new InvalidArgument(`read ${source}: ${what}`);
    for (const [block, label] of blocks) {
      try {
        if (label === 'CERTIFICATE') {
          const cert = new X509Certificate(block);
          roots.push(cert);
          keys.push(cert.publicKey);
        } else if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY') {
          keys.push(createPublicKey(block));
        } else {
          throw fail(`a ${label} block; it takes PUBLIC KEY or CERTIFICATE blocks (never a private key)`);
        }
      } catch (err) {
        if (err instanceof InvalidArgument) throw err;
        throw fail(`a ${label} block that does not parse`);
      }
    }
    if (keys.length === 0) throw fail('no PUBLIC KEY or CERTIFICATE block');
    for (const key of keys)
      if (algorithmOf(key) === undefined)
        throw fail(
          `a ${key.asymmetricKeyType ?? 'unknown'} key; tokens are checked with RSA (RS256) or EC P-256/384/521 (ES256/384/512) keys`,
        );
    return new TokenTrust(keys, roots);
  }

  /**
   * The leaf key of an `x5c` header (standard base64 DER certificates, leaf first) once its
   * chain leads to a root; else why not, as a phrase for the 401's error_description.
   */
  leafKey(x5c: unknown, now: Date): KeyObject | { rejected: string } {
    if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c) => typeof c === 'string'))
      return { rejected: 'the x5c header must be a list of base64 certificates' };
    if (this.roots.length === 0)
      return {
        rejected: 'the token carries an x5c chain, but the registry trusts a bare key, not root certificates',
      };
    const chain: X509Certificate[] = [];
    for (const [i, der] of (x5c as string[]).entries()) {
      try {
        chain.push(new X509Certificate(Buffer.from(der, 'base64')));
      } catch {
        return { rejected: `x5c certificate ${i + 1} does not parse` };
      }
    }
    const expired = (cert: X509Certificate) =>
      now < new Date(cert.validFrom) || now > new Date(cert.validTo)
        ? `x5c certificate \`${oneLine(cert.subject)}\` is not valid now (${cert.validFrom} to ${cert.validTo})`
        : undefined;
    for (const [i, cert] of chain.entries()) {
      const problem = expired(cert);
      if (problem !== undefined) return { rejected: problem };
      const issuer = chain[i + 1];
      if (issuer === undefined) break;
      if (!issuer.ca || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey))
        return {
          rejected: `x5c certificate \`${oneLine(cert.subject)}\` is not signed by the next one, \`${oneLine(issuer.subject)}\``,
        };
    }
    const top = chain[chain.length - 1]!;
    const anchored = this.roots.some(
      (root) =>
        root.raw.equals(top.raw) ||
        (root.ca && expired(root) === undefined && top.checkIssued(root) && top.verify(root.publicKey)),
    );
    if (!anchored)
      return {
        rejected: `the x5c chain does not lead to a trusted root (it ends at \`${oneLine(top.subject)}\`, issued by \`${oneLine(top.issuer)}\`)`,
      };
    const leaf = chain[0]!.publicKey;
    if (algorithmOf(leaf) === undefined)
      return {
        rejected: `the x5c leaf has a ${leaf.asymmetricKeyType ?? 'unknown'} key, which tokens cannot use`,
      };
    return leaf;
  }
}
