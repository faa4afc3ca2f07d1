/**
 * The registry client verbs: pull, push, login, logout. Progress is drawn from the engine's
 * events: per-blob bars on a terminal, one plain line per change of phase otherwise, nothing
 * but the result with --quiet.
 */
import type { Engine, ProgressEvent } from '../engine.js';
import { parsePlatform } from '../oci/platform.js';
import { familiarName, familiarString, parseReference } from '../oci/reference.js';
import { InvalidArgument } from '../util/errors.js';
import { humanSize } from '../util/format.js';
import { bool, needArgs, parseArgs, str, type Parsed } from './args.js';
import { LOGIN, LOGOUT, PULL, PUSH } from './image-flags.js';
import { limitsOf } from './limit-flags.js';
import type { Output } from './output.js';

/** `--tls-verify=false` turns verification off (and allows plain http); the default is on. */
function insecure(p: Parsed): boolean {
  return p.flags.get('tls-verify') === false;
}

export async function pullCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, PULL);
  needArgs(p, PULL, 1, 1);
  const input = p.positionals[0]!;
  const ref = parseReference(input);
  const quiet = bool(p, 'quiet');
  const platformFlag = str(p, 'platform');
  const platform = platformFlag === undefined ? undefined : parsePlatform(platformFlag);
  const limits = limitsOf(p, 'pull');
  const view = quiet ? undefined : new ProgressView(out, 'pull');
  if (!quiet) out.stdout(`${ref.tag ?? ref.digest}: Pulling from ${ref.repository}\n`);
  try {
    const result = await engine.pull(input, {
      platform,
      insecure: insecure(p),
      limits,
      onProgress: view ? (e) => view.update(e) : undefined,
    });
    view?.finish();
    const name = familiarString({ ...ref, digest: undefined, tag: ref.tag });
    if (quiet) {
      out.stdout(
        `${ref.tag !== undefined ? familiarString(ref) : `${familiarName(ref)}@${result.manifestDigest}`}\n`,
      );
      return 0;
    }
    const bytes = result.downloaded.reduce((sum, l) => sum + l.size, 0);
    out.stdout(
      `Downloaded ${humanSize(bytes)} in ${result.downloaded.length} layer${result.downloaded.length === 1 ? '' : 's'} (${bytes} bytes); ${result.present.length} already present\n`,
    );
    out.stdout(`Digest: ${result.indexDigest ?? result.manifestDigest}\n`);
    if (result.indexDigest !== undefined) out.stdout(`Platform manifest: ${result.manifestDigest}\n`);
    out.stdout(
      `Status: ${result.downloaded.length === 0 ? 'Image is up to date for' : 'Downloaded newer image for'} ${name}\n`,
    );
    out.stdout(`${familiarString(ref)}\n`);
    return 0;
  } finally {
    view?.finish();
  }
}

export async function pushCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, PUSH);
  needArgs(p, PUSH, 1, 2);
  const [source, target] = p.positionals as [string, string | undefined];
  const compression = str(p, 'compression') ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'zstd')
    throw new InvalidArgument(`push: unknown compression \`${compression}\` (gzip or zstd)`);
  const ref = parseReference(target ?? source);
  const quiet = bool(p, 'quiet');
  const view = quiet ? undefined : new ProgressView(out, 'push');
  if (!quiet) out.stdout(`The push refers to repository [${familiarName(ref)}]\n`);
  try {
    const result = await engine.push(source, target, {
      compression,
      insecure: insecure(p),
      onProgress: view ? (e) => view.update(e) : undefined,
    });
    view?.finish();
    if (quiet) {
      out.stdout(`${result.digest}\n`);
      return 0;
    }
    const uploaded = result.blobs.filter((b) => b.outcome.how === 'uploaded').length;
    const existed = result.blobs.filter((b) => b.outcome.how === 'exists').length;
    const mounted = result.blobs.filter((b) => b.outcome.how === 'mounted').length;
    out.stdout(
      `Uploaded ${humanSize(result.bytesUploaded)} in ${uploaded} blob${uploaded === 1 ? '' : 's'} (${result.bytesUploaded} bytes); ${existed} already existed, ${mounted} mounted\n`,
    );
    out.stdout(`${ref.tag ?? 'latest'}: digest: ${result.digest} size: ${result.size}\n`);
    return 0;
  } finally {
    view?.finish();
  }
}

export async function loginCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, LOGIN);
  needArgs(p, LOGIN, 1, 1);
  const username = str(p, 'username');
  if (username === undefined)
    throw new InvalidArgument('login: a username is required (-u USER)', { code: 'USAGE' });
  let password = str(p, 'password');
  if (bool(p, 'password-stdin')) {
    if (password !== undefined)
      throw new InvalidArgument('login: --password and --password-stdin are mutually exclusive', {
        code: 'USAGE',
      });
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  if (!password)
    throw new InvalidArgument('login: a password is required (--password-stdin or -p)', { code: 'USAGE' });
  const where = await engine.login(p.positionals[0]!, { username, password }, { insecure: insecure(p) });
  out.stdout(`Credentials stored in ${where}\nLogin Succeeded\n`);
  return 0;
}

export async function logoutCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, LOGOUT);
  needArgs(p, LOGOUT, 1, 1);
  const registry = p.positionals[0]!;
  const removed = await engine.logout(registry);
  out.stdout(removed ? `Removing login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
  return 0;
}

interface Row {
  id: string;
  text: string;
  started?: number;
}

/** Per-blob lines: redrawn in place on a terminal, printed once per phase elsewhere. */
class ProgressView {
  private readonly rows: Row[] = [];
  private readonly tty = process.stdout.isTTY === true;
  private drawn = 0;
  private lastDraw = 0;
  private finished = false;
  private readonly lastPhase = new Map<string, string>();

  constructor(
    private readonly out: Output,
    private readonly verb: 'pull' | 'push',
  ) {}

  update(e: ProgressEvent): void {
    if (this.finished) return;
    const key = e.id ?? e.digest;
    const id = key.slice(key.indexOf(':') + 1, key.indexOf(':') + 13);
    let row = this.rows.find((r) => r.id === id);
    if (row === undefined) {
      row = { id, text: '' };
      this.rows.push(row);
    }
    if ((e.phase === 'uploading' || e.phase === 'downloading') && row.started === undefined)
      row.started = Date.now();
    row.text = this.describe(e, row);
    if (!this.tty) {
      if (this.lastPhase.get(id) !== e.phase) {
        this.lastPhase.set(id, e.phase);
        this.out.stdout(`${id}: ${row.text.replace(/ \[.*$/, '')}\n`);
      }
      return;
    }
    const now = Date.now();
    if (now - this.lastDraw >= 100 || (e.phase !== 'uploading' && e.phase !== 'downloading')) this.draw(now);
  }

  finish(): void {
    if (this.finished) return;
    if (this.tty) this.draw(Date.now());
    this.finished = true;
  }

  private describe(e: ProgressEvent, row: Row): string {
    switch (e.phase) {
      case 'waiting':
        return 'Waiting';
      case 'compressing':
        return 'Compressing';
      case 'exists':
        return this.verb === 'push' ? 'Layer already exists' : 'Already exists';
      case 'mounted':
        return `Mounted from ${e.from ?? '?'}`;
      case 'retrying':
        return `Retrying: ${e.reason ?? ''}`;
      case 'verifying':
        return 'Verifying Checksum';
      case 'done':
        return this.verb === 'push' ? 'Pushed' : 'Pull complete';
      case 'uploading':
      case 'downloading': {
        const verb = e.phase === 'uploading' ? 'Pushing' : 'Downloading';
        const bytes = e.bytes ?? 0;
        const total = e.total ?? 0;
        const width = 30;
        const filled = total > 0 ? Math.min(width, Math.floor((bytes / total) * width)) : 0;
        const seconds = row.started === undefined ? 0 : (Date.now() - row.started) / 1000;
        const rate = seconds > 0 ? ` ${humanSize(bytes / seconds)}/s` : '';
        const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}]`;
        return `${verb} ${bar} ${humanSize(bytes)}/${humanSize(total)}${rate}`;
      }
    }
  }

  private draw(now: number): void {
    this.lastDraw = now;
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const row of this.rows) text += `\x1b[2K${row.id}: ${row.text}\n`;
    this.drawn = this.rows.length;
    this.out.stdout(text);
  }
}
