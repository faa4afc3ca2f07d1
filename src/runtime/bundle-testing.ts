/**
 * Test support for real runtime runs: a busybox-static rootfs (docs/runtime.md#busybox-rootfs: applets
 * as relative links, since `busybox --install -s` makes absolute ones that do not resolve
 * inside), an image-like /etc/passwd and /etc/group, and one foreground `crun run` / `runc
 * run` with stdio captured. Every container gets a unique id and is deleted afterwards.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const isRoot = process.getuid?.() === 0;

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `skiff-${prefix}-`));
}

export function uniqueId(): string {
  return randomBytes(32).toString('hex');
}

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'app:x:1000:1000:App User:/home/app:/bin/sh',
  '',
].join('\n');

export const GROUP = [
  'root:x:0:',
  'wheel:x:10:app,root',
  'audio:x:29:app',
  'app:x:1000:',
  'staff:x:50:',
  '',
].join('\n');

/** A rootfs with busybox and its applets in /bin, the usual top directories and users. */
export function makeBusyboxRootfs(dir: string): string {
  if (!BUSYBOX) throw new Error('busybox is not installed (apt-get install busybox-static)');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'mnt', 'root', 'home/app', 'run', 'var/tmp']) {
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  }
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.chownSync(path.join(dir, 'home/app'), 1000, 1000);
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  const list = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n');
  for (const applet of list) {
    if (applet !== '' && applet !== 'busybox') fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
  }
  fs.writeFileSync(path.join(dir, 'etc/passwd'), PASSWD);
  fs.writeFileSync(path.join(dir, 'etc/group'), GROUP);
  return dir;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Writes `spec` as the bundle's config.json and runs it in the foreground with `runtime`
 * (crun or runc), stdin empty; always deletes the container afterwards.
 */
export function runBundle(runtime: string, bundle: string, id: string, spec: object, input = ''): RunResult {
  fs.mkdirSync(bundle, { recursive: true });
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  try {
    const r = spawnSync(runtime, ['run', '--bundle', bundle, id], {
      input,
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    spawnSync(runtime, ['delete', '--force', id], { encoding: 'utf8' });
  }
}
