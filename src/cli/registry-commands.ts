/** The registry verbs: `registry serve` and `registry gc`. They never open skiff's own store. */
import cluster from 'node:cluster';
import fs from 'node:fs';
import path from 'node:path';
import { collectGarbage, DEFAULT_GRACE_MS } from '../registry/server/gc.js';
import { Htpasswd } from '../registry/server/htpasswd.js';
import { TokenKey } from '../registry/server/jwt.js';
import { RegistryServer } from '../registry/server/server.js';
import { InvalidArgument } from '../util/errors.js';
import { humanSize } from '../util/format.js';
import { parseByteSize } from '../util/byte-size.js';
import { bool, needArgs, parseArgs, str, type Parsed } from './args.js';
import type { Output } from './output.js';

/** How the primary hands the token signing key to its workers. */
const TOKEN_KEY_ENV = 'SKIFF_REGISTRY_TOKEN_KEY';

const USAGE = 'serve --addr HOST:PORT --root DIR [flags] | gc --root DIR [--dry-run] [--grace DURATION]';

const HELP = `Usage:
  skiff registry serve --addr HOST:PORT --root DIR   the OCI distribution API, in the foreground
      --htpasswd FILE            users (bcrypt, htpasswd -B); anonymous callers may only pull
      --token-issuer             Docker token auth with our own /token endpoint (users from --htpasswd)
      --token-realm URL --token-key PEM   tokens from an outside issuer, checked with its public key
      --token-service NAME       the service name in challenges and tokens (default skiff-registry)
      --tls-cert FILE --tls-key FILE   serve HTTPS
      --workers N                N processes on one port (default 1)
      --upload-ttl DURATION      drop upload sessions idle this long (default 24h; also at start)
      --max-upload-size SIZE     refuse a blob upload past SIZE (like 2GiB; default none)
      --repo-quota SIZE          refuse a push that would make a repository's blobs pass SIZE (default none)
      --log                      one line per request on stderr
  skiff registry gc --root DIR   remove unreferenced blobs; safe while a server serves DIR
      --grace DURATION           keep blobs younger than this (default 1h; must outlast a push)
      --dry-run                  say what would go
      --format json              the report as JSON
`;

export async function registryCommand(argv: string[], out: Output): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'serve') return serve(rest, out);
  if (sub === 'gc') return gc(rest, out);
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    out.stdout(HELP);
    return 0;
  }
  const what =
    sub === undefined || sub.startsWith('-') ? 'needs a subcommand' : `unknown subcommand \`${sub}\``;
  throw new InvalidArgument(`registry: ${what}; usage: skiff registry ${USAGE}`, { code: 'USAGE' });
}

/** "90s", "15m", "1h", "2d", or plain milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value);
  if (m === null)
    throw new InvalidArgument(`registry: ${flag} \`${value}\`: not a duration (like 30s, 15m, 1h)`, {
      code: 'USAGE',
    });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}

function sizeFlag(p: Parsed, flag: string): number | undefined {
  const value = str(p, flag);
  return value === undefined ? undefined : parseByteSize(value, `registry serve: --${flag}`);
}

function needRoot(root: string | undefined, verb: string): string {
  if (root === undefined)
    throw new InvalidArgument(`registry ${verb}: --root DIR is required`, { code: 'USAGE' });
  return root;
}

function readable(file: string, flag: string): string {
  if (!fs.existsSync(file)) throw new InvalidArgument(`registry serve: ${flag} \`${file}\`: no such file`);
  return file;
}

async function serve(argv: string[], out: Output): Promise<number> {
  const p = parseArgs(
    argv,
    [
      { name: 'addr', kind: 'string' },
      { name: 'root', kind: 'string' },
      { name: 'htpasswd', kind: 'string' },
      { name: 'tls-cert', kind: 'string' },
      { name: 'tls-key', kind: 'string' },
      { name: 'token-issuer', kind: 'boolean' },
      { name: 'token-realm', kind: 'string' },
      { name: 'token-key', kind: 'string' },
      { name: 'token-service', kind: 'string' },
      { name: 'upload-ttl', kind: 'string' },
      { name: 'max-upload-size', kind: 'string' },
      { name: 'repo-quota', kind: 'string' },
      { name: 'log', kind: 'boolean' },
      { name: 'workers', kind: 'string' },
    ],
    'registry serve',
  );
  needArgs(p, 'registry serve', 0, 0, '');
  const root = needRoot(str(p, 'root'), 'serve');
  const addr = str(p, 'addr') ?? '127.0.0.1:5000';
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (m === null)
    throw new InvalidArgument(`registry serve: --addr \`${addr}\`: expected HOST:PORT`, { code: 'USAGE' });
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  const cert = str(p, 'tls-cert');
  const key = str(p, 'tls-key');
  if ((cert === undefined) !== (key === undefined))
    throw new InvalidArgument('registry serve: --tls-cert and --tls-key go together', { code: 'USAGE' });
  const htpasswdFile = str(p, 'htpasswd');
  const realm = str(p, 'token-realm');
  const tokenKey = str(p, 'token-key');
  const issue = bool(p, 'token-issuer');
  if (realm !== undefined && !issue && tokenKey === undefined)
    throw new InvalidArgument(
      "registry serve: --token-realm needs --token-key PEM (the issuer's public key) or --token-issuer",
      {
        code: 'USAGE',
      },
    );
  const bearer = issue || realm !== undefined;
  const server = new RegistryServer({
    root,
    tls:
      cert !== undefined && key !== undefined
        ? { cert: readable(cert, '--tls-cert'), key: readable(key, '--tls-key') }
        : undefined,
    auth: {
      htpasswd: htpasswdFile === undefined ? undefined : new Htpasswd(readable(htpasswdFile, '--htpasswd')),
      token: bearer
        ? {
            issue,
            realm,
            service: str(p, 'token-service'),
            privateKeyPem: cluster.isWorker ? process.env[TOKEN_KEY_ENV] : undefined,
            publicKeyPem:
              tokenKey === undefined || issue
                ? undefined
                : fs.readFileSync(readable(tokenKey, '--token-key'), 'utf8'),
          }
        : undefined,
    },
    log: bool(p, 'log') ? (line) => out.stderr(`${line}\n`) : undefined,
    uploadTtlMs:
      str(p, 'upload-ttl') === undefined ? undefined : parseDuration(str(p, 'upload-ttl')!, '--upload-ttl'),
    maxUploadBytes: sizeFlag(p, 'max-upload-size'),
    repoQuotaBytes: sizeFlag(p, 'repo-quota'),
  });
  const workers = Number(str(p, 'workers') ?? '1');
  if (!Number.isInteger(workers) || workers < 1)
    throw new InvalidArgument(`registry serve: --workers \`${str(p, 'workers')}\`: not a positive integer`, {
      code: 'USAGE',
    });
  if (workers > 1 && cluster.isPrimary)
    return supervise(workers, out, issue ? { [TOKEN_KEY_ENV]: TokenKey.generatePem() } : {});
  const running = await server.listen(host, Number(m[3]));
  if (cluster.isWorker) process.send?.({ url: running.url });
  else out.stdout(`skiff registry listening on ${running.url}\n`);
  await stopSignal();
  await running.close();
  // A worker's IPC channel would keep it alive after its server closed.
  if (cluster.isWorker) process.disconnect?.();
  return 0;
}

function stopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/**
 * `--workers N`: N processes accept on one port (node:cluster). Every piece of state is on
 * disk (sessions, links, blobs), so any worker can take any request; a session's PATCHes may
 * land on different workers, which costs at most a re-hash of its file at the end. With
 * `--token-issuer` they share one signing key (in their environment, readable only by this
 * user), so a token from one worker is good at every other.
 */
async function supervise(workers: number, out: Output, env: Record<string, string>): Promise<number> {
  let stopping = false;
  let announced = false;
  const fork = () => {
    const worker = cluster.fork(env);
    worker.on('message', (msg: { url?: string }) => {
      if (announced || typeof msg.url !== 'string') return;
      announced = true;
      out.stdout(`skiff registry listening on ${msg.url} (${workers} workers)\n`);
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      out.stderr(`registry worker ${worker.process.pid} exited (${code ?? signal}); starting another\n`);
      fork();
    });
  };
  for (let i = 0; i < workers; i++) fork();
  await stopSignal();
  stopping = true;
  const all = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  await Promise.all(
    all.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.once('exit', () => resolve());
          w.process.kill('SIGTERM');
        }),
    ),
  );
  return 0;
}

async function gc(argv: string[], out: Output): Promise<number> {
  const p = parseArgs(
    argv,
    [
      { name: 'root', kind: 'string' },
      { name: 'dry-run', kind: 'boolean' },
      { name: 'grace', kind: 'string' },
      { name: 'format', kind: 'string' },
    ],
    'registry gc',
  );
  needArgs(p, 'registry gc', 0, 0, '');
  const root = needRoot(str(p, 'root'), 'gc');
  const grace = str(p, 'grace');
  const graceMs = grace === undefined ? DEFAULT_GRACE_MS : parseDuration(grace, '--grace');
  const format = str(p, 'format');
  if (format !== undefined && format !== 'json' && format !== 'text')
    throw new InvalidArgument(`registry gc: --format \`${format}\`: json or text`, { code: 'USAGE' });
  if (!fs.existsSync(root)) throw new InvalidArgument(`registry gc: --root \`${root}\`: no such directory`);
  if (!fs.existsSync(path.join(root, 'blobs')) || !fs.existsSync(path.join(root, 'repositories')))
    throw new InvalidArgument(
      `registry gc: --root \`${root}\`: not a registry root (no blobs/ and repositories/)`,
    );
  const dryRun = bool(p, 'dry-run');
  const report = await collectGarbage(root, { dryRun, graceMs });
  if (format === 'json') {
    out.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const verb = dryRun ? 'would remove' : 'removed';
  for (const d of report.deletedBlobs) out.stdout(`${verb} ${d}\n`);
  out.stdout(
    `${report.manifests} manifests, ${report.marked} blobs in use; ${verb} ${report.deletedBlobs.length} blobs (${humanSize(report.freedBytes)}), ` +
      `${report.removedUploads} upload sessions, ${report.removedTemp} temp files, ${report.removedLinks} dead links; kept ${report.keptRecent} recent unreferenced blobs\n`,
  );
  return 0;
}
