/**
 * A compose file as read: its YAML document (kept for the line of any key, so that every
 * error names "compose.yaml:12"), and its values with Compose's interpolation applied. YAML
 * 1.2 with `<<` merge keys, as Compose files use them for shared settings.
 */
import fs from 'node:fs';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { InvalidArgument } from '../util/errors.js';
import type { ErrorCode } from '../util/error-codes.js';
import { interpolate, InterpolationError, type Variables } from './compose-interpolate.js';

export type Path = (string | number)[];

/** What a problem is about: "service `web`" for ['services', 'web', …], "" for a top-level key. */
export function ownerOf(path: Path): string {
  const kinds: Record<string, string> = {
    services: 'service',
    networks: 'network',
    volumes: 'volume',
    secrets: 'secret',
    configs: 'config',
  };
  const kind = kinds[String(path[0])];
  return kind && path.length >= 2 ? `${kind} \`${path[1]}\`` : '';
}

/** The key below its owner: "`ports[0].target`", "`secrets`"; "" for the owner itself. */
export function keyText(path: Path): string {
  const rest = ownerOf(path) ? path.slice(2) : path;
  if (rest.length === 0) return '';
  const text = rest
    .map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`))
    .join('');
  return `\`${text}\``;
}

export class ComposeSource {
  constructor(
    readonly file: string,
    /** the values after interpolation */
    readonly data: Record<string, unknown>,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The line of the deepest part of `path` the document has (a merged-in key: the line of its merge). */
  lineOf(path: Path): number {
    let node: unknown = this.doc.contents;
    let offset = (node as YamlNode | null)?.range?.[0] ?? 0;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = findPair(node, String(seg), this.doc);
        if (!pair) break;
        offset = (pair.key as YamlNode | null)?.range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg];
        offset = (node as YamlNode).range?.[0] ?? offset;
      } else break;
    }
    return this.lines.linePos(offset).line;
  }

  /** "compose.yaml:12: service `web`: <what>" */
  error(path: Path, what: string, code: ErrorCode = 'COMPOSE_INVALID'): InvalidArgument {
    const owner = ownerOf(path);
    return new InvalidArgument(`${this.file}:${this.lineOf(path)}: ${owner ? `${owner}: ` : ''}${what}`, {
      code,
    });
  }
}

type Pair = { key: unknown; value: unknown };

function findPair(map: { items: Pair[] }, key: string, doc: Document): Pair | undefined {
  const direct = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  if (direct) return direct;
  for (const p of map.items) {
    const k = isScalar(p.key) ? p.key.value : undefined;
    if (k !== '<<' && !(typeof k === 'symbol' && k.description === '<<')) continue;
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (let source of sources) {
      if (isAlias(source)) source = source.resolve(doc);
      if (isMap(source) && findPair(source as { items: Pair[] }, key, doc)) return p;
    }
  }
  return undefined;
}

/**
 * Strings a substitution made that the schema wants as numbers or booleans (`replicas:
 * ${N}`), converted as Compose converts them; `*` matches any key or index.
 */
const TYPED: [string[], 'integer' | 'boolean'][] = [
  [['services', '*', 'deploy', 'replicas'], 'integer'],
  [['services', '*', 'scale'], 'integer'],
  [['services', '*', 'healthcheck', 'retries'], 'integer'],
  [['services', '*', 'healthcheck', 'disable'], 'boolean'],
  [['services', '*', 'ports', '*', 'target'], 'integer'],
  [['services', '*', 'ports', '*', 'published'], 'integer'],
  [['services', '*', 'volumes', '*', 'read_only'], 'boolean'],
  [['networks', '*', 'external'], 'boolean'],
  [['volumes', '*', 'external'], 'boolean'],
];

function typed(path: Path, value: string): unknown {
  const entry = TYPED.find(
    ([pattern]) => pattern.length === path.length && pattern.every((p, i) => p === '*' || p === path[i]),
  );
  if (!entry) return value;
  if (entry[1] === 'integer') return /^-?\d+$/.test(value) ? Number(value) : value;
  if (/^(true|yes|on)$/i.test(value)) return true;
  if (/^(false|no|off)$/i.test(value)) return false;
  return value;
}

/** Reads, parses and interpolates; throws with the file and line of the first problem. */
export function readComposeSource(file: string, vars: Variables): ComposeSource {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgument(`read \`${file}\`: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      cause: err,
    });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, prettyErrors: false, uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem) {
    const line = problem.linePos?.[0].line ?? lines.linePos(problem.pos[0]).line;
    throw new InvalidArgument(`${file}:${line}: ${problem.message.split('\n')[0]}`, {
      code: 'COMPOSE_INVALID',
    });
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 1000 });
  const empty = new ComposeSource(file, {}, doc, lines);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw empty.error([], 'a compose file is a mapping with `services`');
  }
  const walk = (value: unknown, path: Path): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('$')) return value;
      try {
        return typed(path, interpolate(value, vars));
      } catch (err) {
        if (!(err instanceof InterpolationError)) throw err;
        const key = keyText(path);
        throw empty.error(path, `${key ? `${key}: ` : ''}${err.message}`, 'COMPOSE_INTERPOLATION');
      }
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (typeof value === 'object' && value !== null) {
      // Keys are never interpolated, and `x-` sections are not Compose's to read.
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, k.startsWith('x-') ? v : walk(v, [...path, k])]),
      );
    }
    return value;
  };
  return new ComposeSource(file, walk(raw, []) as Record<string, unknown>, doc, lines);
}
