/**
 * `RUN --mount=type=…,key=value,…` into a Mount (Dockerfile reference, "RUN --mount"). The
 * option list is CSV, as in BuildKit (commands_runmount.go), so a quoted field may hold a comma.
 */
import type { Mount, MountType } from './types.js';

const TYPES = new Set<MountType>(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);
const SHARING = new Set(['shared', 'private', 'locked']);

/** Returns the mount or a cause for the caller to put at its line. */
export function parseMount(spec: string): Mount | string {
  const fields: Record<string, string> = {};
  const flags = new Set<string>();
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    if (eq < 0) {
      if (!['ro', 'readonly', 'rw', 'readwrite', 'required'].includes(key)) {
        return `invalid field \`${field}\` in mount: must be a key=value pair`;
      }
      flags.add(key);
      continue;
    }
    const value = field.slice(eq + 1);
    const canonical = ALIASES[key] ?? key;
    if (!KEYS.has(canonical)) return `unexpected key \`${key}\` in mount \`${spec}\``;
    fields[canonical] = value;
  }
  const type = (fields['type'] ?? 'bind') as MountType;
  if (!TYPES.has(type)) return `unsupported mount type \`${type}\``;
  const bool = (name: string, alias: string): boolean | undefined => {
    if (flags.has(name) || flags.has(alias)) return true;
    const v = fields[name];
    return v === undefined ? undefined : v.toLowerCase() !== 'false';
  };
  const ro = bool('readonly', 'ro');
  const rw = bool('readwrite', 'rw');
  // bind, secret and ssh mounts are read-only unless asked otherwise; cache and tmpfs writable.
  const defaultRo = type === 'bind' || type === 'secret' || type === 'ssh';
  const mount: Mount = { type, readOnly: ro ?? (rw === undefined ? defaultRo : !rw) };
  if (fields['target'] !== undefined) mount.target = fields['target'];
  if (fields['source'] !== undefined) mount.source = fields['source'];
  if (fields['from'] !== undefined) mount.from = fields['from'];
  if (fields['id'] !== undefined) mount.id = fields['id'];
  if (fields['env'] !== undefined) mount.env = fields['env'];
  const required = bool('required', 'required');
  if (required !== undefined) mount.required = required;
  if (fields['sharing'] !== undefined) {
    if (!SHARING.has(fields['sharing'])) return `unsupported sharing value \`${fields['sharing']}\``;
    mount.sharing = fields['sharing'] as Mount['sharing'];
  } else if (type === 'cache') {
    mount.sharing = 'shared';
  }
  for (const key of ['uid', 'gid'] as const) {
    const v = fields[key];
    if (v === undefined) continue;
    if (!/^\d+$/.test(v)) return `invalid ${key} \`${v}\` in mount`;
    mount[key] = Number(v);
  }
  if (fields['mode'] !== undefined) {
    if (!/^[0-7]+$/.test(fields['mode'])) return `invalid mode \`${fields['mode']}\` in mount: must be octal`;
    mount.mode = parseInt(fields['mode'], 8);
  }
  if (fields['size'] !== undefined) {
    const size = parseSize(fields['size']);
    if (size === undefined) return `invalid size \`${fields['size']}\` in mount`;
    mount.size = size;
  }
  if (mount.target === undefined && type !== 'secret' && type !== 'ssh') {
    return `mount type \`${type}\` requires a target`;
  }
  if (mount.from !== undefined && type !== 'bind' && type !== 'cache') {
    return `\`from\` is not supported for mount type \`${type}\``;
  }
  return mount;
}

const ALIASES: Record<string, string> = {
  src: 'source',
  dst: 'target',
  destination: 'target',
  ro: 'readonly',
  rw: 'readwrite',
};
const KEYS = new Set([
  'type',
  'from',
  'source',
  'target',
  'readonly',
  'readwrite',
  'id',
  'sharing',
  'mode',
  'uid',
  'gid',
  'required',
  'size',
  'env',
]);

function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      if (quoted && text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields.filter((f) => f !== '');
}

/** `64m`, `1g`, `512k` or bytes, as docker's RAMInBytes reads a tmpfs size. */
function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text);
  if (!m) return undefined;
  const power = ['', 'k', 'm', 'g', 't'].indexOf(m[2]!.toLowerCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}
