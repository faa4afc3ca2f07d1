/**
 * Precompiled seccomp filters for crun (docs/runtime.md#seccomp). Debian's crun 1.8.1 is built
 * without the hashing library its own cache needs, so every `crun create` compiles the
 * profile with libseccomp: +25–30 ms per container. crun also accepts the finished program
 * in the annotation `run.oci.seccomp_bpf_data` (base64) and then skips compiling ("bypasses
 * OCI config seccomp section", crun.1). skiff compiles each distinct `linux.seccomp` section
 * once — by letting crun itself do it in a throwaway `crun create` and keeping the
 * `seccomp.bpf` it leaves in its state directory — and caches the bytes by the section's hash.
 *
 * `linux.seccomp` stays in config.json: crun prefers the annotation (verified: one filter,
 * `Seccomp: 2`, no compile time), while runc, which ignores the annotation, still finds the
 * profile, and `inspect` shows it.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { writeFileAtomic } from '../util/atomic.js';
import { FailedPrecondition } from '../util/errors.js';
import type { SeccompSection } from './seccomp.js';

export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

/** A BPF program is an array of 8-byte `struct sock_filter`; the kernel caps it at 4096. */
const INSTRUCTION = 8;
const MAX_INSTRUCTIONS = 4096;

export interface SeccompCacheOptions {
  /** The crun binary that compiles; default `crun` on PATH. */
  runtimePath?: string;
  signal?: AbortSignal;
}

/**
 * The base64 BPF program for `section`, from `cacheDir` or compiled now. The key is the
 * sha256 of the section's JSON plus the compiling binary's identity (size and mtime), so an
 * upgraded crun/libseccomp does not keep serving programs an older one produced.
 */
export async function seccompBpfAnnotation(
  cacheDir: string,
  section: SeccompSection,
  options: SeccompCacheOptions = {},
): Promise<string> {
  const runtimePath = options.runtimePath ?? 'crun';
  const file = path.join(cacheDir, `${cacheKey(section, runtimePath)}.bpf`);
  const hit = readProgram(file);
  if (hit) return hit.toString('base64');

  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const program = await compile(cacheDir, section, runtimePath, options.signal);
  writeFileAtomic(file, program, 0o600);
  return program.toString('base64');
}

/**
 * Adds the precompiled filter to a config.json object when the runtime is crun and the spec
 * has a seccomp section. It is only a speed-up: if compiling fails, the spec is returned
 * unchanged (crun compiles the profile itself) and `onError` hears why.
 */
export async function precompileSeccomp<T extends object>(
  spec: T,
  options: SeccompCacheOptions & {
    cacheDir: string;
    runtime: 'crun' | 'runc';
    onError?: (err: unknown) => void;
  },
): Promise<T> {
  const s = spec as { linux?: { seccomp?: SeccompSection }; annotations?: Record<string, string> };
  const section = s.linux?.seccomp;
  if (options.runtime !== 'crun' || section === undefined) return spec;
  try {
    const bpf = await seccompBpfAnnotation(options.cacheDir, section, options);
    s.annotations = { ...s.annotations, [SECCOMP_BPF_ANNOTATION]: bpf };
  } catch (err) {
    options.onError?.(err);
  }
  return spec;
}

function cacheKey(section: SeccompSection, runtimePath: string): string {
  const hash = createHash('sha256').update(JSON.stringify(section));
  try {
    const st = fs.statSync(resolveOnPath(runtimePath));
    hash.update(`\0${st.size}:${st.mtimeMs}`);
  } catch {
    // Unknown binary: the section alone keys the entry; compile will report the real problem.
  }
  return hash.digest('hex');
}

function resolveOnPath(binary: string): string {
  if (binary.includes('/')) return binary;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, binary);
    if (fs.existsSync(candidate)) return candidate;
  }
  return binary;
}

/** A cached program, or undefined when absent or not a plausible BPF program. */
function readProgram(file: string): Buffer | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  const valid =
    data.length > 0 && data.length % INSTRUCTION === 0 && data.length <= INSTRUCTION * MAX_INSTRUCTIONS;
  return valid ? data : undefined;
}

/**
 * `crun create` of a bundle that has nothing but the seccomp section: an empty rootfs with
 * `/dev` and an empty executable file that is never started (create only checks it exists),
 * a mount and a pid namespace (so `delete -f` really kills the waiting init: without a pid
 * namespace and with cgroups disabled it survives), no cgroups, and a private state root so
 * no other crun user sees the container. crun writes `<root>/<id>/seccomp.bpf` during create.
 */
async function compile(
  cacheDir: string,
  section: SeccompSection,
  runtimePath: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const work = fs.mkdtempSync(path.join(cacheDir, '.compile-'));
  const id = `skiff-seccomp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const state = path.join(work, 'state');
  const crun = (...args: string[]) =>
    runQuietly(
      runtimePath,
      ['--root', state, '--cgroup-manager=disabled', ...args],
      path.join(work, 'stderr'),
      signal,
    );
  try {
    fs.mkdirSync(path.join(work, 'rootfs', 'dev'), { recursive: true });
    fs.writeFileSync(path.join(work, 'rootfs', 'x'), '', { mode: 0o755 });
    const config = {
      ociVersion: '1.0.2-dev',
      process: { args: ['/x'], cwd: '/', user: { uid: 0, gid: 0 } },
      root: { path: 'rootfs' },
      mounts: [],
      linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }], seccomp: section },
    };
    fs.writeFileSync(path.join(work, 'config.json'), JSON.stringify(config));
    const what = `compile seccomp profile with \`${runtimePath}\``;
    try {
      await crun('create', '--bundle', work, id);
    } catch (err) {
      throw new FailedPrecondition(`${what}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const program = readProgram(path.join(state, id, 'seccomp.bpf'));
      if (!program) throw new FailedPrecondition(`${what}: no seccomp.bpf written`);
      return program;
    } finally {
      await crun('delete', '--force', id).catch(() => killInit(path.join(state, id, 'status')));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Runs a runtime verb with stdout ignored and stderr in a file. Not pipes: the container's
 * init inherits them and keeps them open until it dies, so waiting for a pipe to close
 * would wait for the throwaway container, not for crun.
 */
function runQuietly(binary: string, args: string[], stderrFile: string, signal?: AbortSignal): Promise<void> {
  const fd = fs.openSync(stderrFile, 'w');
  let timer: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', fd], signal });
    // Not spawn's own `timeout`: its timer outlives a spawn that failed (ENOENT) by its full length.
    timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      if (code === 0) return resolve();
      const text = fs.readFileSync(stderrFile, 'utf8').trim().split('\n').pop();
      reject(new Error(text || `exited with ${code ?? sig}`));
    });
  }).finally(() => {
    clearTimeout(timer);
    fs.closeSync(fd);
  });
}

/** Last resort when `delete -f` failed: kill the throwaway init so no process is left behind. */
function killInit(statusFile: string): void {
  try {
    const { pid } = JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { pid?: unknown };
    if (typeof pid === 'number' && pid > 1) process.kill(pid, 'SIGKILL');
  } catch {
    // No status or already gone: nothing is left to kill.
  }
}
