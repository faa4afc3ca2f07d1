/** `skiff system info` and the Docker API's `/info`: what this host gives skiff (Engine.info). */
import fs from 'node:fs';
import os from 'node:os';
import { chooseRuntime, hybridControllers, type RuntimeName } from '../runtime/oci-runtime.js';
import { ingestLimits, type IngestLimits } from '../store/ingest-limits.js';
import { settingsPath } from '../store/settings.js';
import { findProgram, PROGRAMS, type ProgramName } from '../util/programs.js';

export interface SystemInfo {
  root: string;
  runtime: { name: RuntimeName; path: string; notice: string | null };
  cgroups: string;
  kernel: string;
  programs: Record<ProgramName, string | null>;
  /** The ingest limits in effect (store/ingest-limits.ts) and the file that sets them. */
  limits: IngestLimits & { settings: string };
}

/**
 * The store at `root`, the OCI runtime a container would get (choosing it applies the cgroup
 * fix crun needs on a hybrid host, as `run` would) and where each outside program is, or null
 * where it is missing.
 */
export function systemInfo(root: string, options: { runtime?: string } = {}): SystemInfo {
  const choice = chooseRuntime(options.runtime);
  const programs = {} as Record<ProgramName, string | null>;
  for (const name of Object.keys(PROGRAMS) as ProgramName[]) programs[name] = findProgram(name) ?? null;
  return {
    root,
    runtime: { name: choice.name, path: choice.path, notice: choice.notice ?? null },
    cgroups: fs.existsSync('/sys/fs/cgroup/cgroup.controllers')
      ? 'v2'
      : fs.existsSync('/sys/fs/cgroup/unified')
        ? `hybrid (cgroup2 controllers: ${hybridControllers('/sys/fs/cgroup').join(' ') || 'none'})`
        : 'v1',
    kernel: os.release(),
    programs,
    limits: { ...ingestLimits(root), settings: settingsPath(root) },
  };
}
