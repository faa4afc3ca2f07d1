/**
 * Shared pieces of the root-only integration tests: a throwaway store per test, the real CLI
 * run as a child process, the busybox-static rootfs tar, outside tools (skopeo, umoci, podman…)
 * and a podman with a private store. Nothing here imitates skiff: every check goes through the
 * real binary and real peers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest parent holding skiff's package.json (works from dist/ and .out/). */
export const REPO = findRepo(path.dirname(fileURLToPath(import.meta.url)));
export const SKIFF_BIN = path.join(REPO, 'bin', 'skiff.js');

function findRepo(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (
      fs.existsSync(pkg) &&
      (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'skiff'
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`find repository: no skiff package.json above ${start}`);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output (`skiff save` to stdout). */
  stdoutBytes: Buffer;
}

export interface RunOptions {
  /** Bytes for stdin, or `{ file }` to stream a file into stdin. */
  input?: string | Buffer | { file: string };
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Milliseconds before the child is killed; the test then fails on its status. */
  timeout?: number;
}

/** Runs a command to completion and collects its output. Never throws on a non-zero status. */
export async function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: options.timeout ?? 300_000,
  });
  return collect(child, options.input);
}

/** `cmd args` that must exit 0: its stdout; otherwise the test fails with its stderr. */
export async function runOk(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const r = await run(cmd, args, { env });
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Starts a command without waiting; `done` resolves when it exits. For the kill -9 tests. */
export function start(
  cmd: string,
  args: string[],
  options: RunOptions = {},
): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return { child, done: collect(child, options.input) };
}

async function collect(child: ChildProcess, input: RunOptions['input']): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve([code, signal]));
  });
  // A child that exits before reading all of stdin (an error, a kill) makes EPIPE: not ours to report.
  child.stdin!.on('error', () => {});
  if (input === undefined) child.stdin!.end();
  else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin!.end(input);
  else pipeline(fs.createReadStream(input.file), child.stdin!).catch(() => {});
  const [code, signal] = await exited;
  const stdoutBytes = Buffer.concat(out);
  return {
    code,
    signal,
    stdout: stdoutBytes.toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    stdoutBytes,
  };
}

/** A temp directory with a store root inside; `cleanup` removes all of it. */
export interface Sandbox {
  dir: string;
  /** The store root handed to skiff with --root. */
  root: string;
  skiff(args: string[], options?: RunOptions): Promise<RunResult>;
  /** `skiff …` that must succeed: throws with its stderr otherwise. */
  ok(args: string[], options?: RunOptions): Promise<RunResult>;
  /** `skiff system check --format json`, parsed. */
  check(): Promise<CheckReport>;
  cleanup(): void;
}

export interface CheckReport {
  problems: string[];
  garbage: { tempFiles: number; unreferencedBlobs: number; unreferencedLayers: number };
  checked: Record<string, number>;
}

export function makeSandbox(prefix = 'skiff-test-'): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const root = path.join(dir, 'store');
  const sandbox: Sandbox = {
    dir,
    root,
    skiff: (args, options) => skiff(args, { ...options, root }),
    async ok(args, options) {
      const r = await sandbox.skiff(args, options);
      if (r.code !== 0)
        throw new Error(`skiff ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
      return r;
    },
    async check() {
      const r = await sandbox.skiff(['system', 'check', '--format', 'json']);
      try {
        return JSON.parse(r.stdout) as CheckReport;
      } catch {
        throw new Error(`system check printed no JSON (exit ${r.code}): ${r.stderr.trim()}`);
      }
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  return sandbox;
}

/** A sandbox removed when test `t` ends. */
export function sandbox(t: { after(fn: () => void): void }, prefix?: string): Sandbox {
  const s = makeSandbox(prefix);
  t.after(() => s.cleanup());
  return s;
}

/** Runs the skiff CLI; `root` becomes --root (else SKIFF_ROOT from `env` applies). */
export function skiff(args: string[], options: RunOptions & { root?: string } = {}): Promise<RunResult> {
  const rootArgs = options.root === undefined ? [] : ['--root', options.root];
  return run(process.execPath, ['--', SKIFF_BIN, ...rootArgs, ...args], options);
}

let busybox: { dir: string; tar: string } | undefined;

/**
 * The busybox-static rootfs tar (scripts/make-busybox-rootfs.sh), made once per process and
 * removed when the process exits. Treat it as read-only.
 */
export function busyboxTar(): string {
  if (busybox) return busybox.tar;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-busybox-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const tar = path.join(dir, 'rootfs.tar');
  const r = spawnSync('bash', [path.join(REPO, 'scripts', 'make-busybox-rootfs.sh'), tar], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`make-busybox-rootfs.sh failed (${r.status}): ${r.stderr}`);
  busybox = { dir, tar };
  return tar;
}

/** The busybox tree as GNU tar unpacks it, made once per process: what other unpackers must match. */
export function busyboxTree(): string {
  const tar = busyboxTar();
  const tree = path.join(busybox!.dir, 'tree');
  if (!fs.existsSync(tree)) {
    fs.mkdirSync(tree);
    const r = spawnSync('tar', ['-C', tree, '--numeric-owner', '-xpf', tar], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar -x ${tar}: ${r.stderr}`);
  }
  return tree;
}

/** `sha256:<hex>` of a file, by the coreutils `sha256sum` binary (an outside judge). */
export function sha256sum(file: string): string {
  const r = spawnSync('sha256sum', [file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sha256sum ${file}: ${r.stderr}`);
  return `sha256:${r.stdout.split(' ')[0]}`;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** One entry of a tree as compared across unpackers. */
export interface TreeEntry {
  type: 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  link?: string;
  sha256?: string;
}

/** Every entry under `dir` by relative path (the root itself excluded). Follows no symlink. */
export function walkTree(dir: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const visit = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = fs.lstatSync(abs);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        out.set(r, { type: 'dir', ...base });
        visit(r);
      } else if (st.isSymbolicLink()) out.set(r, { type: 'symlink', ...base, link: fs.readlinkSync(abs) });
      else if (st.isFile())
        out.set(r, { type: 'file', ...base, size: st.size, sha256: sha256(fs.readFileSync(abs)) });
      else if (st.isCharacterDevice()) out.set(r, { type: 'char', ...base });
      else if (st.isBlockDevice()) out.set(r, { type: 'block', ...base });
      else if (st.isFIFO()) out.set(r, { type: 'fifo', ...base });
      else out.set(r, { type: 'socket', ...base });
    }
  };
  visit('');
  return out;
}

/** Names of the entries of a directory, [] when it does not exist. */
export function ls(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Every file of a store outside tmp/, with size and (for files) content digest: two snapshots
 * equal means the store's data did not change. The database, its WAL and the lock file are
 * left out: SQLite may touch them on any open, and their meaning is what `system check` reads.
 */
export function storeSnapshot(root: string): Map<string, string> {
  const skip = new Set(['tmp', 'skiff.db', 'skiff.db-wal', 'skiff.db-shm', 'skiff.db-journal', 'lock']);
  const snap = new Map<string, string>();
  if (!fs.existsSync(root)) return snap;
  for (const name of ls(root)) {
    if (skip.has(name)) continue;
    const abs = path.join(root, name);
    if (!fs.lstatSync(abs).isDirectory()) {
      snap.set(name, describe(fs.lstatSync(abs), abs));
      continue;
    }
    for (const [rel, e] of walkTree(abs)) snap.set(`${name}/${rel}`, JSON.stringify(e));
  }
  return snap;
}

function describe(st: fs.Stats, abs: string): string {
  return st.isFile() ? `file ${st.size} ${sha256(fs.readFileSync(abs))}` : `mode ${st.mode}`;
}

/** Paths present in `after` but not in `before`, or changed. */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [k, v] of after)
    if (before.get(k) !== v) changed.push(before.has(k) ? `changed ${k}` : `new ${k}`);
  for (const k of before.keys()) if (!after.has(k)) changed.push(`gone ${k}`);
  return changed;
}

/** The lines of a CLI table, split on runs of 2+ spaces. */
export function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s{2,}/));
}

/**
 * A podman with a private store under `dir` and the containers.conf this machine needs (the
 * VM refuses to raise hard rlimits; podman's default nofile would). Nothing touches the
 * machine's default store. `cleanup` resets the store and removes its directories.
 */
export interface Podman {
  dir: string;
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  ok(args: string[], options?: RunOptions): Promise<RunResult>;
  cleanup(): Promise<void>;
}

export function podman(dir: string, driver: 'vfs' | 'overlay' = 'vfs'): Podman {
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n');
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  // The overlay driver refuses a runroot over 50 characters: a short one beside the others.
  const runroot = fs.mkdtempSync('/tmp/skiff-rr-');
  const global = [
    '--root',
    path.join(dir, 'root'),
    '--runroot',
    runroot,
    '--tmpdir',
    path.join(dir, 'libpod-tmp'),
    '--storage-driver',
    driver,
    '--events-backend',
    'none',
  ];
  const env = { CONTAINERS_CONF: conf, TMPDIR: tmp };
  const p: Podman = {
    dir,
    run: (args, options) =>
      run('podman', [...global, ...args], { ...options, env: { ...env, ...options?.env } }),
    async ok(args, options) {
      const r = await p.run(args, options);
      if (r.code !== 0)
        throw new Error(`podman ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
      return r;
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await p.run(['system', 'reset', '-f']);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      fs.rmSync(runroot, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  let cleaned = false;
  return p;
}

/** A child's stderr must be one line that starts with "Error: ". */
export function oneLineError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1 || !lines[0]!.startsWith('Error: ')) {
    throw new Error(`expected one "Error: …" line on stderr, got:\n${stderr}`);
  }
  return lines[0]!;
}

/**
 * Polls `probe` until it returns something other than undefined, and returns that; throws
 * naming `what` (and the last error the probe threw) after `timeout` milliseconds.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  options: { timeout?: number; interval?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeout ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const cause = last === undefined ? '' : `: ${(last as Error).message}`;
      throw new Error(`timed out waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.interval ?? 50));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (listen(0), then closed). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
