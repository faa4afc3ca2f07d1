/**
 * The process.json of `runtime exec --process`: the container's own process (its config.json)
 * with the exec's command and what `docker exec` may change. Docker's rules (moby
 * daemon/exec.go): the container's environment with the exec's variables replaced or added
 * (a bare `NAME` removes it), and the container's user and working directory unless the exec
 * names its own. Built from the container's process rather than from crun's defaults, so
 * rlimits, capabilities, umask and the rest are the container's.
 */
import path from 'node:path';
import { InvalidArgument } from '../util/errors.js';
import type { OciSpec } from './spec.js';
import type { ExecUser } from './user.js';

export type OciProcess = OciSpec['process'];

export interface ExecOptions {
  tty?: boolean;
  /** `NAME=value` replaces or adds a variable; `NAME` alone removes it. */
  env?: string[];
  /** `name`, `uid`, `uid:gid`, `name:group`, looked up in the container's /etc/passwd. */
  user?: string;
  workdir?: string;
  /** Every capability the host grants (the container's own limits still apply). */
  privileged?: boolean;
}

export interface ExecLookups {
  /** The user as the container's /etc/passwd and /etc/group resolve it. */
  user(spec: string): ExecUser;
  /** Every capability this host grants (for privileged). */
  capabilities(): string[];
}

export function execProcess(
  base: OciProcess,
  command: string[],
  options: ExecOptions,
  lookups: ExecLookups,
): OciProcess {
  if (command.length === 0) throw new InvalidArgument('exec: no command given', { code: 'NO_COMMAND' });
  const env = mergeEnv(base.env, options.env ?? []);
  if (options.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  const process: OciProcess = { ...base, args: command, env, terminal: options.tty === true };
  if (options.workdir !== undefined && options.workdir !== '') {
    if (!path.posix.isAbsolute(options.workdir))
      throw new InvalidArgument(`invalid working directory \`${options.workdir}\`: must be an absolute path`);
    process.cwd = path.posix.resolve(options.workdir);
  }
  const bounding = base.capabilities.bounding ?? [];
  if (options.user !== undefined && options.user !== '') {
    const user = lookups.user(options.user);
    process.user = {
      uid: user.uid,
      gid: user.gid,
      ...(base.user.umask === undefined ? {} : { umask: base.user.umask }),
      ...(user.additionalGids.length > 0 ? { additionalGids: user.additionalGids } : {}),
    };
    // As the container's process got them: root the whole bounding set, another user only
    // what was added for it (the ambient set).
    const granted = user.uid === 0 ? bounding : (base.capabilities.ambient ?? []);
    process.capabilities =
      user.uid === 0
        ? { bounding, effective: granted, permitted: granted }
        : { bounding, effective: granted, permitted: granted, inheritable: granted, ambient: granted };
  }
  if (options.privileged) {
    const all = lookups.capabilities();
    process.capabilities = { bounding: all, effective: all, permitted: all };
  }
  return process;
}

/** Docker's ReplaceOrAppendEnvValues: order kept, later values win, `NAME` alone removes. */
export function mergeEnv(base: string[], changes: string[]): string[] {
  const env = new Map<string, string | undefined>();
  for (const entry of base) {
    const eq = entry.indexOf('=');
    env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? undefined : entry.slice(eq + 1));
  }
  for (const entry of changes) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '' || key.includes('\0'))
      throw new InvalidArgument(`invalid environment variable \`${entry}\`: empty name`);
    if (eq < 0) env.delete(key);
    else env.set(key, entry.slice(eq + 1));
  }
  return [...env].filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
}
