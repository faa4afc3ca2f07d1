/**
 * The one way a test says what it needs from the machine: root, an outside program, a file a
 * package installs. Outside CI a missing requirement skips the test and says why; under CI
 * (`CI=true`, which `.ci/run` sets) nothing may be missing, so the requirement becomes a
 * failing test of its own name ("requirement: nft (nftables)") and the tests that need it run
 * and fail too. A skip can never hide a missing install step there, and scripts/test.sh also
 * fails a CI run in which any test was skipped (tests/allowed-skips.txt lists the exceptions).
 *
 * Also the table of programs the tests and benchmarks run, checked against
 * scripts/install-deps.sh by tests/install-deps.test.ts, as src/util/programs.ts is for skiff.
 */
import { test } from 'node:test';
import fs from 'node:fs';

import { findProgram, PROGRAMS, type Program, type ProgramName } from './programs.js';

export const TEST_PROGRAMS = {
  podman: { package: 'podman', use: 'the anchor runtime and builder, and an outside judge of images' },
  buildah: { package: 'buildah', use: 'podman build’s anchor in bench:build' },
  skopeo: { package: 'skopeo', use: 'an outside registry client and OCI layout reader' },
  umoci: { package: 'umoci', use: 'an outside OCI layout unpacker' },
  'oci-image-tool': { package: 'oci-image-tool', use: 'validates OCI layouts skiff writes' },
  'docker-registry': { package: 'docker-registry', use: 'a reference registry for the client tests' },
  htpasswd: { package: 'apache2-utils', use: 'makes the registry’s password files' },
  openssl: { package: 'openssl', use: 'certificates for the TLS tests' },
  busybox: { package: 'busybox-static', use: 'the tiny image the tests and the demo run' },
  debootstrap: { package: 'debootstrap', use: 'the Debian base of the slow build test' },
  wrk: { package: 'wrk', use: 'load for bench:registry-serve and bench:deploy' },
  gzip: { package: 'gzip', use: 'gzip layers made outside skiff' },
  sha256sum: { package: 'coreutils', use: 'an outside digest of files' },
  flock: { package: 'util-linux', use: 'holds a store lock from outside in the crash tests' },
  script: { package: 'bsdutils', use: 'a terminal for `docker exec -it` in the exec tests' },
  chroot: { package: 'coreutils', use: 'runs a layer directory as a root without skiff' },
  umount: { package: 'mount', use: 'removes mounts a killed skiff left' },
  mount: { package: 'mount', use: 'mounts a loop file system (XFS with project quotas)' },
  losetup: { package: 'mount', use: 'detaches a loop device a failed unmount left' },
  'mkfs.xfs': { package: 'xfsprogs', use: 'an XFS file system for --storage-opt size=' },
  mkfifo: { package: 'coreutils', use: 'special files in crafted trees' },
  pgrep: { package: 'procps', use: 'finds processes a test left' },
  docker: {
    package: 'docker.io',
    use: 'the docker CLI (client only) that drives skiff system service; dockerd never runs',
  },
  gcc: { package: 'gcc', use: 'builds the Ryuk-compatible reaper the testcontainers test runs' },
  'docker-compose': {
    package: 'docker-compose',
    use: 'Compose 1.29 (docker-py), an outside client of skiff system service',
  },
  python3: {
    package: 'python3-minimal',
    use: 'tarfile (from python3), a second tar writer the tests compare with',
  },
} as const satisfies Record<string, Program>;

export type TestProgramName = keyof typeof TEST_PROGRAMS;

/** Files that packages install and tests read directly. */
export const TEST_FILES = {
  '/usr/share/containers/seccomp.json': {
    package: 'golang-github-containers-common',
    use: 'podman’s seccomp profile',
  },
  '/usr/lib/x86_64-linux-gnu/libc.a': {
    package: 'libc6-dev',
    use: 'static linking of the test reaper (gcc -static)',
  },
  '/usr/lib/python3/dist-packages/docker/__init__.py': {
    package: 'python3-docker',
    use: 'the Python docker SDK, an outside client of skiff system service (run by /usr/bin/python3)',
  },
} as const satisfies Record<string, Program>;

export type Requirement = 'root' | ProgramName | TestProgramName | keyof typeof TEST_FILES;

export const underCI = process.env.CI === 'true';

/** What is missing of `requirement`, or undefined when it is there. */
function missing(requirement: Requirement): string | undefined {
  if (requirement === 'root') return process.getuid?.() === 0 ? undefined : 'root';
  if (requirement in TEST_FILES) {
    const file = requirement as keyof typeof TEST_FILES;
    return fs.existsSync(file) ? undefined : `${file} (${TEST_FILES[file].package})`;
  }
  const program = requirement as ProgramName | TestProgramName;
  const pkg = (PROGRAMS as Record<string, Program>)[program] ?? TEST_PROGRAMS[program as TestProgramName];
  return findProgram(program) === undefined ? `${program} (${pkg.package})` : undefined;
}

const reported = new Set<string>();

/**
 * The `skip` option of a test or suite that needs `requirements`: false when all are there;
 * else, outside CI, the reason; under CI false, and a failing test named after what is missing.
 */
export function needs(...requirements: Requirement[]): string | false {
  const absent = requirements.map(missing).filter((m): m is string => m !== undefined);
  if (absent.length === 0) return false;
  const reason = `needs ${absent.join(', ')}`;
  if (!underCI) return reason;
  for (const what of absent) {
    if (reported.has(what)) continue;
    reported.add(what);
    test(`requirement: ${what}`, () => {
      throw new Error(`${what} is missing under CI: scripts/install-deps.sh must provide it`);
    });
  }
  return false;
}

/**
 * For a condition found only while a test runs (crun fell back to runc, say): outside CI the
 * test is skipped with `reason`; under CI it fails with it.
 */
export function unmet(t: { skip(message?: string): void }, reason: string): void {
  if (underCI) throw new Error(`requirement: ${reason} (under CI this must hold)`);
  t.skip(reason);
}
