/** The registry verbs: `registry serve` and `registry gc`. They never open skiff's own store. */
import cluster from 'node:cluster';
import fs from 'node:fs';
import { Engine } from '../engine.js';
import { InvalidArgument } from '../util/errors.js';
import { humanSize } from '../util/format.js';
import { parseByteSize } from '../util/byte-size.js';
import { bool, formatFlag, needArgs, parseArgs, str, usageLine, type Parsed } from './args.js';
import type { Output } from './output.js';
import { REGISTRY_GC, REGISTRY_SERVE } from './registry-flags.js';

/** How the primary hands the token signing key to its workers. */
const TOKEN_KEY_ENV = 'SKIFF_REGISTRY_TOKEN_KEY';

export async function registryCommand(argv: string[], out: Output): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'serve') return serve(rest, out);
  if (sub === 'gc') return gc(rest, out);
  // `registry --help` never gets here: main.ts answers it from the command table.
  const what =
    sub === undefined || sub.startsWith('-') ? 'needs a subcommand' : `unknown subcommand \`${sub}\``;
  throw new InvalidArgument(
    `registry: ${what}; usage: ${usageLine(REGISTRY_SERVE)} | ${usageLine(REGISTRY_GC)}`,
    { code: 'USAGE' },
  );
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
  const p = parseArgs(argv, REGISTRY_SERVE);
  needArgs(p, REGISTRY_SERVE, 0, 0);
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
  const accessFile = str(p, 'access');
  if (accessFile !== undefined && htpasswdFile === undefined && !bearer)
    throw new InvalidArgument(
      'registry serve: --access needs users: --htpasswd FILE, or tokens (--token-issuer, --token-realm)',
      { code: 'USAGE' },
    );
  const server = await Engine.registryServer({
    root,
    host,
    port: Number(m[3]),
    tls:
      cert !== undefined && key !== undefined
        ? { cert: readable(cert, '--tls-cert'), key: readable(key, '--tls-key') }
        : undefined,
    htpasswd: htpasswdFile === undefined ? undefined : readable(htpasswdFile, '--htpasswd'),
    access: accessFile === undefined ? undefined : readable(accessFile, '--access'),
    token: bearer
      ? {
          issue,
          realm,
          service: str(p, 'token-service'),
          issuer: str(p, 'token-iss'),
          privateKeyPem: cluster.isWorker ? process.env[TOKEN_KEY_ENV] : undefined,
          publicKeyFile: tokenKey === undefined || issue ? undefined : readable(tokenKey, '--token-key'),
        }
      : undefined,
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
    return supervise(workers, out, issue ? { [TOKEN_KEY_ENV]: await Engine.newRegistryTokenKey() } : {});
  const running = await server.listen();
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
  const p = parseArgs(argv, REGISTRY_GC);
  needArgs(p, REGISTRY_GC, 0, 0);
  const root = needRoot(str(p, 'root'), 'gc');
  const grace = str(p, 'grace');
  // Without --grace, the collector's own default (an hour).
  const graceMs = grace === undefined ? undefined : parseDuration(grace, '--grace');
  const format = formatFlag(p, 'registry gc', ['text', 'json']);
  const dryRun = bool(p, 'dry-run');
  const report = await Engine.collectRegistryGarbage(root, { dryRun, graceMs });
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
