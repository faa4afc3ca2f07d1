/**
 * What a COPY asks of its parent image, recorded so its layer can be reused over another
 * parent. A COPY's layer is a function of its plan, its options and the answers the parent's
 * view gave (is this destination a directory, where does this symlinked path lead, which mode,
 * owner and mtime has this existing directory, who is `app` in /etc/passwd). When the same
 * questions get the same answers from a new parent, the layer made before is the layer this
 * step would make, byte for byte — so an unchanged 50 MB COPY after a changed small file is not
 * made again. (`COPY --link` needs no answers at all; BuildKit calls reusing it a rebase.)
 */
import type fs from 'node:fs';
import type { ImageView } from './image-view.js';

/** The questions copy-layer.ts asks of the parent image. */
export interface ParentView {
  resolve(p: string): string;
  lstat(p: string): fs.Stats | undefined;
  isDir(p: string): boolean;
  owner(spec: string): { uid: number; gid: number };
}

/** One question and its answer, as JSON-friendly text. */
export type ViewQuery = [method: 'resolve' | 'lstat' | 'isDir' | 'owner', arg: string, answer: string];

/** The parts of an lstat a layer can depend on: type, permission bits, owner, mtime in seconds. */
function summary(st: fs.Stats | undefined): string {
  if (st === undefined) return '-';
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
  return `${type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)}`;
}

function answer(view: ParentView, method: ViewQuery[0], arg: string): string {
  switch (method) {
    case 'resolve':
      return view.resolve(arg);
    case 'lstat':
      return summary(view.lstat(arg));
    case 'isDir':
      return String(view.isDir(arg));
    case 'owner': {
      const { uid, gid } = view.owner(arg);
      return `${uid}:${gid}`;
    }
  }
}

/** An ImageView that writes down every distinct question asked of it and its answer. */
export class RecordingView implements ParentView {
  private readonly asked = new Map<string, ViewQuery>();

  constructor(private readonly inner: ImageView) {}

  get queries(): ViewQuery[] {
    return [...this.asked.values()];
  }

  resolve(p: string): string {
    const out = this.inner.resolve(p);
    this.note('resolve', p, out);
    return out;
  }

  lstat(p: string): fs.Stats | undefined {
    const st = this.inner.lstat(p);
    this.note('lstat', p, summary(st));
    return st;
  }

  isDir(p: string): boolean {
    const out = this.inner.isDir(p);
    this.note('isDir', p, String(out));
    return out;
  }

  owner(spec: string): { uid: number; gid: number } {
    const out = this.inner.owner(spec);
    this.note('owner', spec, `${out.uid}:${out.gid}`);
    return out;
  }

  private note(method: ViewQuery[0], arg: string, value: string): void {
    this.asked.set(`${method} ${arg}`, [method, arg, value]);
  }
}

/** Whether `view` answers every recorded question as the parent it was recorded on did. */
export function answersAlike(view: ParentView, queries: ViewQuery[]): boolean {
  try {
    return queries.every(([method, arg, expected]) => answer(view, method, arg) === expected);
  } catch {
    // A question the new parent cannot answer (a symlink loop, an unknown user) is a difference.
    return false;
  }
}
