/**
 * Every outside program skiff itself runs, with the Debian package that installs it. One
 * table, so `scripts/install-deps.sh` can be checked against it (tests/install-deps.test.ts)
 * and a missing program is reported the same way wherever it is needed: by its name and the
 * package that brings it, never as a raw ENOENT.
 *
 * The programs the tests and benchmarks run are listed in src/util/test-requirements.ts.
 */
import fs from 'node:fs';
import path from 'node:path';

import { FailedPrecondition } from './errors.js';

export interface Program {
  /** The Debian package that installs it. */
  package: string;
  /** What skiff runs it for. */
  use: string;
}

export const PROGRAMS = {
  crun: { package: 'crun', use: 'the default OCI runtime' },
  runc: { package: 'runc', use: 'the OCI runtime chosen by --runtime runc, or when crun cannot run' },
  conmon: { package: 'conmon', use: 'holds each container’s stdio, log and exit code' },
  ip: { package: 'iproute2', use: 'bridges, veth pairs and network namespaces' },
  nft: { package: 'nftables', use: 'NAT and published ports' },
  haproxy: { package: 'haproxy', use: 'the traffic proxy of deployments' },
  zstd: { package: 'zstd', use: 'zstd layers' },
  xz: { package: 'xz-utils', use: 'xz archives given to ADD' },
  bzip2: { package: 'bzip2', use: 'bzip2 archives given to ADD' },
  tar: { package: 'tar', use: 'a tar build context on stdin (`build -`)' },
  cp: { package: 'coreutils', use: 'the throw-away copy behind RUN --mount=type=bind,rw' },
  xfs_quota: { package: 'xfsprogs', use: 'the project quota behind --storage-opt size= (XFS)' },
  ps: { package: 'procps', use: 'the process table of `top`' },
} as const satisfies Record<string, Program>;

export type ProgramName = keyof typeof PROGRAMS;

/**
 * Where programs are looked for: PATH, then the sbin and bin directories, which a root shell
 * started by cron or systemd may lack on its PATH. SKIFF_PROGRAM_PATH, when set, is the only
 * place (a folder of chosen builds, or a test's machine that lacks one program).
 */
export function programSearchPath(): string[] {
  const only = process.env['SKIFF_PROGRAM_PATH'];
  if (only !== undefined) return only.split(path.delimiter).filter((d) => d !== '');
  const fromEnv = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  return [
    ...new Set([...fromEnv, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']),
  ];
}

/** The absolute path of an executable file `name` in `dirs`, or undefined. */
export function findProgram(name: string, dirs: string[] = programSearchPath()): string | undefined {
  for (const dir of dirs) {
    const candidate = path.resolve(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here; keep looking.
    }
  }
  return undefined;
}

const found = new Map<ProgramName, string>();

/**
 * The absolute path of one of skiff's programs; a missing one is an error naming it and its
 * package: "run `nft`: not installed (apt-get install nftables)".
 */
export function programPath(name: ProgramName, dirs?: string[]): string {
  const cached = dirs === undefined ? found.get(name) : undefined;
  if (cached !== undefined) return cached;
  const file = findProgram(name, dirs);
  if (file === undefined) throw missingProgram(name);
  if (dirs === undefined) found.set(name, file);
  return file;
}

export function missingProgram(name: ProgramName): FailedPrecondition {
  return new FailedPrecondition(
    `run \`${name}\`: not installed (apt-get install ${PROGRAMS[name].package})`,
    { code: 'PROGRAM_MISSING' },
  );
}
