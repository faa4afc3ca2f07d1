/**
 * Helpers for the token tests: an outside issuer's tokens signed with `jose` (as a real
 * issuer would), including forged ones, and certificate chains made by `openssl` for `x5c`.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Claims an outside issuer would give `sub` for `scope` (`repository:name:actions`). */
export function outsideClaims(over: JWTPayload & { scope?: string } = {}): JWTPayload {
  const { scope = 'repository:team/app:pull', ...rest } = over;
  const [type, name, actions] = scope.split(':') as [string, string, string];
  return {
    iss: 'auth.example',
    sub: 'alice',
    aud: 'skiff-registry',
    exp: nowSeconds() + 300,
    nbf: nowSeconds() - 1,
    iat: nowSeconds(),
    access: [{ type, name, actions: actions.split(',') }],
    ...rest,
  };
}

/** A token signed by `key` with `alg` (ES256 or RS256), extra header fields (x5c) allowed. */
export function signToken(
  key: KeyObject,
  alg: string,
  claims: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ typ: 'JWT', ...header, alg }).sign(key);
}

/** A token with `alg: none` and no signature, which no verifier may take. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** The token with one claim changed after signing: its signature no longer fits. */
export function tampered(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  change(claims);
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

export function ecKeyPair(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...pair, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function rsaKeyPair(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...pair, publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export interface Chain {
  /** The trusted root's certificate (what `--token-key` is given). */
  rootPem: string;
  /** The signer's private key (the leaf's). */
  leafKey: KeyObject;
  /** The `x5c` header: leaf, then intermediate, as base64 DER. */
  x5c: string[];
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/**
 * root CA → intermediate CA → leaf, made with openssl in `dir/name`: the leaf signs tokens and
 * the root is what the registry trusts.
 */
export function certificateChain(dir: string, name: string): Chain {
  const at = path.join(dir, name);
  fs.mkdirSync(at, { recursive: true });
  fs.writeFileSync(
    path.join(at, 'ca.ext'),
    'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n',
  );
  fs.writeFileSync(
    path.join(at, 'leaf.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n',
  );
  openssl(
    [
      'req',
      '-x509',
      ...EC,
      '-days',
      '2',
      '-subj',
      `/CN=${name} root`,
      '-keyout',
      'root.key',
      '-out',
      'root.pem',
    ],
    at,
  );
  const issue = (subject: string, file: string, issuer: string, ext: string) => {
    openssl(
      ['req', '-new', ...EC, '-subj', `/CN=${subject}`, '-keyout', `${file}.key`, '-out', `${file}.csr`],
      at,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${file}.csr`,
        '-CA',
        `${issuer}.pem`,
        '-CAkey',
        `${issuer}.key`,
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        ext,
        '-out',
        `${file}.pem`,
      ],
      at,
    );
  };
  issue(`${name} intermediate`, 'intermediate', 'root', 'ca.ext');
  issue(`${name} token signer`, 'leaf', 'intermediate', 'leaf.ext');
  const der = (file: string) =>
    new X509Certificate(fs.readFileSync(path.join(at, file))).raw.toString('base64');
  const leafKeyPem = fs.readFileSync(path.join(at, 'leaf.key'), 'utf8');
  return {
    rootPem: fs.readFileSync(path.join(at, 'root.pem'), 'utf8'),
    leafKey: createPrivateKey(leafKeyPem),
    x5c: [der('leaf.pem'), der('intermediate.pem')],
  };
}
