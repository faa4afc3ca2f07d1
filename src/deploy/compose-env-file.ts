/**
 * The `KEY=VALUE` files of Compose: the project's `.env` (variables for interpolation) and a
 * service's `env_file:` (variables for its containers). The format is python-dotenv's, which
 * Compose 1.x reads them with: `#` comment lines, an optional `export `, values in single
 * quotes taken as they are, in double quotes with `\n`, `\t`, `\"` and `\\` escapes, unquoted
 * values trimmed and cut at ` #`. Values are not interpolated. A line with a name and no `=`
 * stands for the variable of that name in skiff's own environment (left out when unset).
 */
import fs from 'node:fs';
import { InvalidArgument } from '../util/errors.js';

export interface EnvEntry {
  name: string;
  /** undefined: a bare `NAME` line */
  value: string | undefined;
  line: number;
}

export function parseEnvFile(text: string, file: string): EnvEntry[] {
  const entries: EnvEntry[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!m) throw new InvalidArgument(`read \`${file}\`:${i + 1}: expected NAME=VALUE`);
    entries.push({
      name: m[1]!,
      value: m[2] === undefined ? undefined : value(m[2], file, i + 1),
      line: i + 1,
    });
  }
  return entries;
}

function value(raw: string, file: string, line: number): string {
  const q = raw[0];
  if (q === "'" || q === '"') {
    const end = raw.indexOf(q, 1 + 0);
    let close = end;
    if (q === '"') {
      // The closing quote is the first one not escaped by a backslash.
      close = -1;
      for (let i = 1; i < raw.length; i++) {
        if (raw[i] === '\\') i++;
        else if (raw[i] === '"') {
          close = i;
          break;
        }
      }
    }
    if (close < 0) throw new InvalidArgument(`read \`${file}\`:${line}: no closing ${q}`);
    const rest = raw.slice(close + 1).trim();
    if (rest !== '' && !rest.startsWith('#')) {
      throw new InvalidArgument(`read \`${file}\`:${line}: text after the closing ${q}`);
    }
    const body = raw.slice(1, close);
    if (q === "'") return body;
    return body.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
  }
  const hash = raw.search(/\s#/);
  return (hash < 0 ? raw : raw.slice(0, hash)).trim();
}

/** A file's entries as a map (the last of a name wins), or undefined when it does not exist. */
export function readEnvFile(file: string, environment: NodeJS.ProcessEnv): Map<string, string> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InvalidArgument(`read \`${file}\`: ${(err as Error).message}`, { cause: err });
  }
  const result = new Map<string, string>();
  for (const e of parseEnvFile(text, file)) {
    const v = e.value ?? environment[e.name];
    if (v !== undefined) result.set(e.name, v);
  }
  return result;
}
