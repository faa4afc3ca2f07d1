/**
 * Where the service listens: a unix socket (the default, 0660 root:skiff), or TCP with TLS and
 * client certificates. A TCP listener without them would hand root to anyone who can reach
 * the port, so `tcp://` is refused unless a certificate, its key and a CA to check clients
 * against are all given — dockerd's `--tlsverify`, the only TCP mode skiff has.
 */
import fs from 'node:fs';
import { InvalidArgument } from '../engine.js';

export interface TlsFiles {
  cert: string;
  key: string;
  /** The CA that client certificates must be signed by. */
  ca: string;
}

export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number; tls: { cert: Buffer; key: Buffer; ca: Buffer } };

function usage(message: string): InvalidArgument {
  return new InvalidArgument(`system service: ${message}`, { code: 'USAGE' });
}

function readPem(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw usage(
      `${flag} \`${file}\`: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

/** `unix:///path` or `tcp://HOST:PORT` (with every TLS file given) → where to listen. */
export function listenAddress(url: string, tls: Partial<TlsFiles> = {}): ListenAddress {
  const given = Object.values(tls).filter((v) => v !== undefined).length;
  if (url.startsWith('unix://')) {
    if (url.length <= 'unix://'.length) throw usage(`\`${url}\` names no socket`);
    if (given > 0) throw usage('--tls-cert, --tls-key and --tls-ca are for a tcp:// address');
    return { kind: 'unix', path: url.slice('unix://'.length) };
  }
  const m = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/[\]]+):(\d{1,5})\/?$/.exec(url);
  if (!m) throw usage(`\`${url}\` is neither unix:///PATH nor tcp://HOST:PORT`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw usage(`\`${url}\`: port ${port} is out of range`);
  if (tls.cert === undefined || tls.key === undefined || tls.ca === undefined)
    throw usage(
      `\`${url}\`: a TCP listener needs TLS with client certificates (--tls-cert, --tls-key and --tls-ca); anyone who reaches it could run privileged containers`,
    );
  return {
    kind: 'tcp',
    host: m[1]!.replace(/^\[|\]$/g, ''),
    port,
    tls: {
      cert: readPem('--tls-cert', tls.cert),
      key: readPem('--tls-key', tls.key),
      ca: readPem('--tls-ca', tls.ca),
    },
  };
}
