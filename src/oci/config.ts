/**
 * Image configuration (image-spec config.md; Docker's image JSON is the same shape plus
 * fields skiff ignores). Configs pulled from elsewhere are kept as their exact bytes and only
 * parsed to read; encodeImageConfig is for configs skiff writes itself.
 */

import { asDigest, type Digest } from './digest.js';
import {
  asArray,
  asBoolean,
  asNonEmptyString,
  asNonNegativeInteger,
  asObject,
  asObjectMap,
  asString,
  asStringArray,
  asStringMap,
  at,
  fail,
  optional,
  parseJson,
  quote,
  required,
  withContext,
} from './fields.js';

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  OnBuild?: string[];
  Shell?: string[];
}

/** Durations are nanoseconds, as Docker writes them. */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

type Reader<T> = (value: unknown, where: string) => T;

/**
 * Copies the listed fields that are present, each through its reader. Go writes unset slices
 * and maps as `null`, so null reads as absent, except where null means something
 * (`Entrypoint: null` clears an inherited entrypoint).
 */
function pick<T extends object>(
  obj: Record<string, unknown>,
  where: string,
  readers: { [K in keyof T]-?: Reader<T[K]> },
  keepNull: readonly (keyof T)[] = [],
): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(readers) as (keyof T & string)[]) {
    const keep = keepNull.includes(key);
    if (keep && obj[key] === null) {
      (out as Record<string, unknown>)[key] = null;
      continue;
    }
    const value = optional(obj, key, where, readers[key], { nullIsAbsent: true });
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function asHealthcheck(value: unknown, where: string): HealthConfig {
  return pick<HealthConfig>(asObject(value, where), where, {
    Test: asStringArray,
    Interval: asNonNegativeInteger,
    Timeout: asNonNegativeInteger,
    StartPeriod: asNonNegativeInteger,
    StartInterval: asNonNegativeInteger,
    Retries: asNonNegativeInteger,
  });
}

function asContainerConfig(value: unknown, where: string): ContainerConfig {
  const command: Reader<string[] | null> = asStringArray;
  return pick<ContainerConfig>(
    asObject(value, where),
    where,
    {
      User: asString,
      ExposedPorts: asObjectMap,
      Env: asStringArray,
      Entrypoint: command,
      Cmd: command,
      Volumes: asObjectMap,
      WorkingDir: asString,
      Labels: asStringMap,
      StopSignal: asString,
      Healthcheck: asHealthcheck,
      OnBuild: asStringArray,
      Shell: asStringArray,
    },
    ['Entrypoint', 'Cmd'],
  );
}

function asHistoryEntry(value: unknown, where: string): HistoryEntry {
  return pick<HistoryEntry>(asObject(value, where), where, {
    created: asString,
    created_by: asString,
    author: asString,
    comment: asString,
    empty_layer: asBoolean,
  });
}

function asRootfs(value: unknown, where: string): ImageConfig['rootfs'] {
  const obj = asObject(value, where);
  const type = required(obj, 'type', where, asString);
  if (type !== 'layers') fail(at(where, 'type'), `must be "layers", got ${quote(type)}`);
  const diffIds = required(obj, 'diff_ids', where, asArray).map((item, i) =>
    asDigest(item, at(at(where, 'diff_ids'), i)),
  );
  return { type: 'layers', diff_ids: diffIds };
}

function toImageConfig(obj: Record<string, unknown>): ImageConfig {
  const head = pick<Pick<ImageConfig, 'created' | 'author'>>(obj, '', {
    created: asString,
    author: asString,
  });
  const config: ImageConfig = {
    ...head,
    architecture: required(obj, 'architecture', '', asNonEmptyString),
    os: required(obj, 'os', '', asNonEmptyString),
    ...pick<Pick<ImageConfig, 'variant' | 'os.version' | 'os.features' | 'config'>>(obj, '', {
      variant: asString,
      'os.version': asString,
      'os.features': asStringArray,
      config: asContainerConfig,
    }),
    rootfs: required(obj, 'rootfs', '', asRootfs),
  };
  const history = optional(
    obj,
    'history',
    '',
    (v, w) => asArray(v, w).map((e, i) => asHistoryEntry(e, at(w, i))),
    {
      nullIsAbsent: true,
    },
  );
  if (history !== undefined) {
    config.history = history;
    checkHistory(history, config.rootfs.diff_ids.length);
  }
  return config;
}

/**
 * config.md: history entries without `empty_layer` each made one layer, so their count must
 * equal the number of diff_ids. An empty history records nothing and is not held to this.
 */
function checkHistory(history: HistoryEntry[], layers: number): void {
  if (history.length === 0) return;
  const made = history.filter((entry) => entry.empty_layer !== true).length;
  if (made !== layers) {
    fail('history', `${made} entries create layers but rootfs.diff_ids lists ${layers}`);
  }
}

export function parseImageConfig(bytes: Buffer): ImageConfig {
  return withContext('parse image config', () => toImageConfig(asObject(parseJson(bytes), '')));
}

/**
 * JSON for a config skiff creates, keys in the order given. It is checked by parsing it back,
 * so skiff never writes a config it would refuse to read.
 */
export function encodeImageConfig(config: ImageConfig): Buffer {
  const bytes = Buffer.from(JSON.stringify(config), 'utf8');
  withContext('encode image config', () => toImageConfig(asObject(parseJson(bytes), '')));
  return bytes;
}
