/**
 * `-v` and `--tmpfs`: named volumes (data in <root>/volumes/<name>/_data, made on first use,
 * kept until `volume rm`), bind mounts of host paths, and tmpfs mounts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { storePaths } from '../store/paths.js';
import { InvalidArgument } from '../util/errors.js';

export interface VolumeSpec {
  /** A volume name, or an absolute host path for a bind mount. */
  source: string;
  destination: string;
  kind: 'volume' | 'bind';
  readOnly: boolean;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function parseVolume(spec: string): VolumeSpec {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) {
    throw new InvalidArgument(`invalid volume \`${spec}\`: expected SOURCE:DESTINATION[:ro|rw]`);
  }
  const [source, destination, mode = 'rw'] = parts as [string, string, string?];
  if (!path.isAbsolute(destination))
    throw new InvalidArgument(`invalid volume \`${spec}\`: destination must be an absolute path`);
  const flags = mode.split(',');
  if (!flags.every((f) => ['ro', 'rw', 'z', 'Z'].includes(f))) {
    throw new InvalidArgument(`invalid volume \`${spec}\`: unknown option in \`${mode}\``);
  }
  const readOnly = flags.includes('ro');
  if (path.isAbsolute(source)) return { source: path.normalize(source), destination, kind: 'bind', readOnly };
  if (!VOLUME_NAME.test(source)) {
    throw new InvalidArgument(
      `invalid volume \`${spec}\`: \`${source}\` is neither an absolute path nor a volume name`,
    );
  }
  return { source, destination, kind: 'volume', readOnly };
}

export function volumeDataDir(root: string, name: string): string {
  return path.join(storePaths(root).volumes, name, '_data');
}

export interface MountSpec {
  source: string;
  destination: string;
  type: 'bind' | 'tmpfs';
  options: string[];
}

/** Mounts for the runtime spec; named volumes are created on first use, like Docker's. */
export function prepareMounts(root: string, volumes: string[], tmpfs: string[]): MountSpec[] {
  const mounts: MountSpec[] = [];
  for (const spec of volumes) {
    const v = parseVolume(spec);
    let source = v.source;
    if (v.kind === 'volume') {
      source = volumeDataDir(root, v.source);
      fs.mkdirSync(source, { recursive: true });
    } else if (!fs.existsSync(source)) {
      throw new InvalidArgument(`invalid volume \`${spec}\`: host path \`${source}\` does not exist`);
    }
    mounts.push({
      source,
      destination: v.destination,
      type: 'bind',
      options: ['rbind', 'rprivate', v.readOnly ? 'ro' : 'rw'],
    });
  }
  for (const spec of tmpfs) {
    const [destination, opts] = spec.split(':') as [string, string?];
    if (!path.isAbsolute(destination))
      throw new InvalidArgument(`invalid tmpfs \`${spec}\`: destination must be an absolute path`);
    mounts.push({
      source: 'tmpfs',
      destination,
      type: 'tmpfs',
      options: ['nosuid', 'nodev', ...(opts ? opts.split(',') : [])],
    });
  }
  return mounts;
}
