/**
 * The build cache: a step is reused when its parent image, its instruction after expansion,
 * the build args it can see and the checksum of the files it reads are all unchanged — never
 * by mtime. Each entry keeps those parts, so a miss can say why: the nearest entry on the same
 * parent tells whether the instruction, an arg or the files changed (`--explain-cache`).
 */
import { createHash } from 'node:crypto';
import type { Database as DB } from 'better-sqlite3';
import type { Digest } from '../oci/digest.js';
import type { ViewQuery } from './parent-view.js';

export interface StepKey {
  /** parent image ID, or "scratch" */
  parent: string;
  instruction: string;
  args: Record<string, string>;
  /** checksum of the files a COPY/ADD reads; "" for steps that read none */
  inputs: string;
  /** each file's own digest, by context path: kept to name what changed; not part of the key */
  files?: Record<string, string>;
}

interface Row {
  key: string;
  parent: string;
  instruction: string;
  args: string;
  inputs: string;
  image_id: Digest;
  files: string | null;
}

/** The parent of the entries a COPY's layer is found by whatever its parent (`view` says what it asked). */
const ANY_PARENT = 'any parent';

export function cacheKey(k: StepKey): string {
  const args = Object.keys(k.args)
    .sort()
    .map((name) => [name, k.args[name]]);
  return createHash('sha256')
    .update(JSON.stringify([k.parent, k.instruction, args, k.inputs]))
    .digest('hex');
}

export class BuildCache {
  constructor(private readonly db: DB) {}

  /** The image a step with exactly these inputs made, if it is still in the store. */
  lookup(k: StepKey): Digest | undefined {
    const row = this.db
      .prepare(`SELECT c.image_id FROM build_cache c JOIN images i ON i.id = c.image_id WHERE c.key = ?`)
      .get(cacheKey(k)) as { image_id: Digest } | undefined;
    return row?.image_id;
  }

  /**
   * A COPY with these inputs made over any parent, and what it asked of that parent: its
   * layer fits another parent that answers alike (parent-view.ts).
   */
  lookupOverAnyParent(k: Omit<StepKey, 'parent'>): { imageId: Digest; queries: ViewQuery[] } | undefined {
    const row = this.db
      .prepare(
        `SELECT c.image_id, c.view FROM build_cache c JOIN images i ON i.id = c.image_id WHERE c.key = ?`,
      )
      .get(cacheKey({ ...k, parent: ANY_PARENT })) as { image_id: Digest; view: string | null } | undefined;
    if (row?.view == null) return undefined;
    return { imageId: row.image_id, queries: JSON.parse(row.view) as ViewQuery[] };
  }

  recordOverAnyParent(k: Omit<StepKey, 'parent'>, imageId: Digest, queries: ViewQuery[]): void {
    this.record({ ...k, parent: ANY_PARENT }, imageId, queries);
  }

  record(k: StepKey, imageId: Digest, view?: ViewQuery[]): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO build_cache (key, parent, instruction, args, inputs, image_id, created, files, view)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        cacheKey(k),
        k.parent,
        k.instruction,
        JSON.stringify(k.args),
        k.inputs,
        imageId,
        new Date().toISOString(),
        k.files === undefined ? null : JSON.stringify(k.files),
        view === undefined ? null : JSON.stringify(view),
      );
  }

  /** Why `k` missed, in words: the first difference with the closest earlier step. */
  explainMiss(k: StepKey): string {
    const sameParent = this.db
      .prepare('SELECT * FROM build_cache WHERE parent = ? ORDER BY created DESC')
      .all(k.parent) as Row[];
    if (sameParent.length === 0) {
      return k.parent === 'scratch'
        ? 'no step was cached on scratch'
        : `the parent image ${k.parent.slice(7, 19)} is new`;
    }
    const sameInstruction = sameParent.find((r) => r.instruction === k.instruction);
    if (!sameInstruction) {
      const keyword = k.instruction.split(' ')[0];
      const before = sameParent.find((r) => r.instruction.split(' ')[0] === keyword);
      return before
        ? `the instruction changed (was \`${clip(before.instruction)}\`)`
        : `no ${keyword} step was cached on this parent`;
    }
    const oldArgs = JSON.parse(sameInstruction.args) as Record<string, string>;
    for (const name of new Set([...Object.keys(oldArgs), ...Object.keys(k.args)])) {
      if (oldArgs[name] !== k.args[name]) {
        return `build arg ${name} changed (${oldArgs[name] ?? 'unset'} → ${k.args[name] ?? 'unset'})`;
      }
    }
    if (sameInstruction.inputs !== k.inputs) {
      const changed =
        sameInstruction.files && k.files ? fileChanges(JSON.parse(sameInstruction.files), k.files) : [];
      if (changed.length === 0) return 'its input files changed';
      const more = changed.length > 3 ? ` and ${changed.length - 3} more` : '';
      return `${changed.slice(0, 3).join(', ')}${more}`;
    }
    return 'its cached image is no longer in the store';
  }
}

/** `a.txt changed`, `b.txt added`, `c.txt removed`, in path order. */
function fileChanges(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const p of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (before[p] === after[p]) continue;
    out.push(`${p} ${before[p] === undefined ? 'added' : after[p] === undefined ? 'removed' : 'changed'}`);
  }
  return out;
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
