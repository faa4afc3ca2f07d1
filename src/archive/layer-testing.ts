/** Test support for unpacked layers: a varied tree, a comparable snapshot of a tree, tars by hand. */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { mknod } from '../sys/nodes.js';
import { readXattrs, setXattr } from '../sys/xattr.js';
import type { TarEntry } from './tar-header.js';
import { writeTar } from './tar-writer.js';

export const exec = promisify(execFile);

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `skiff-${prefix}-`));
}

export async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

export async function* chunksOf(data: Buffer, size = 65536): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A tar made entry by entry, for archives no tool would write. */
export function buildTar(
  entries: { entry: Partial<TarEntry> & { name: string }; data?: Buffer }[],
): Promise<Buffer> {
  return collect(
    writeTar(
      entries.map(({ entry, data }) => ({
        entry: { type: 'file', mode: 0o644, uid: 0, gid: 0, size: data?.length ?? 0, mtime: 1.6e9, ...entry },
        ...(data === undefined ? {} : { body: data }),
      })),
    ),
  );
}

/**
 * Fills `root` with one of everything a layer holds: files big and small, empty, unicode and
 * long names, symlinks, hardlinks, devices, a FIFO, xattrs, odd modes and owners. `ustar`
 * leaves out what ustar cannot store (long names and links, big ids, xattrs).
 */
export function makeTree(root: string, options: { ustar?: boolean } = {}): void {
  const at = (rel: string): string => path.join(root, rel);
  const file = (rel: string, data: string | Buffer, mode = 0o644, uid = 0, gid = 0): void => {
    fs.writeFileSync(at(rel), data);
    fs.chownSync(at(rel), uid, gid);
    fs.chmodSync(at(rel), mode);
  };
  const dir = (rel: string, uid = 0, gid = 0): void => {
    fs.mkdirSync(at(rel));
    fs.chownSync(at(rel), uid, gid);
  };
  const text = Array.from({ length: 3000 }, (_, i) => `${i} layer image digest ${i % 7}\n`).join('');
  dir('d');
  file('d/hello.txt', 'hello\n', 0o644, 1000, 1000);
  file('d/empty', '');
  file('d/random.bin', randomBytes(200_013));
  file('d/big.bin', Buffer.concat([randomBytes(1_500_000), Buffer.from(text)]), 0o600, 7, 8);
  file('d/text.txt', text);
  fs.symlinkSync('hello.txt', at('d/link'));
  fs.lchownSync(at('d/link'), 1000, 1001);
  fs.symlinkSync('/nowhere/at/all', at('d/dangling'));
  fs.linkSync(at('d/hello.txt'), at('d/hard'));
  dir('e');
  fs.linkSync(at('d/text.txt'), at('e/text-again'));
  file('d/zero-mode', 'x', 0);
  file('d/suid', '#!/bin/sh\n', 0o4755, 1000, 1000);
  file('d/sgid', '#!/bin/sh\n', 0o2711, 0, 50);
  dir('d/sticky');
  dir('d/owned', 1234, 5678);
  file('d/owned/inside', 'owned\n', 0o664, 1234, 5678);
  dir('d/sgid-dir');
  dir('d/locked');
  file('d/locked/inside', 'a file in a mode-0 directory\n');
  dir('d/locked/deeper');
  file('d/locked/deeper/x', 'x\n');
  mknod(at('d/null'), 'char', 0o666, 1, 3);
  mknod(at('d/loop'), 'block', 0o660, 7, 300);
  fs.chownSync(at('d/loop'), 0, 6);
  mknod(at('d/fifo'), 'fifo', 0o600);
  file('d/héllo-日本-𝄞.txt', 'unicode\n');
  file('d/a-b', 'sorting\n');
  file('d/a.b', 'sorting\n');
  dir('d/a');
  file('d/a/b', 'sorting\n');
  const split = `d/${'a'.repeat(80)}`;
  dir(split);
  file(`${split}/${'b'.repeat(90)}`, 'split name\n');
  if (!options.ustar) {
    const deep = `d/${'c'.repeat(200)}`;
    dir(deep);
    file(`${deep}/${'e'.repeat(120)}`, 'long name\n');
    fs.symlinkSync(`${'x/'.repeat(100)}target`, at('d/longlink'));
    file('d/big-ids', 'ids\n', 0o640, 3_000_000, 4_000_000);
    file('d/xattrs', 'xattrs\n');
    setXattr(at('d/xattrs'), 'user.binary', Buffer.from('6100ff0a3d00', 'hex'));
    setXattr(at('d/xattrs'), 'user.text', Buffer.from('hello world'));
    setXattr(at('d/xattrs'), 'trusted.skiff', Buffer.from('root only'));
    dir('d/xdir');
    setXattr(at('d/xdir'), 'user.dir', Buffer.from('on a directory'));
  }
  // Modes and times last: creating entries changes their directory's mtime.
  fs.chmodSync(at('d/sticky'), 0o1777);
  fs.chmodSync(at('d/sgid-dir'), 0o2775);
  fs.chmodSync(at('d/locked/deeper'), 0o500);
  fs.chmodSync(at('d/locked'), 0);
  let t = 1_500_000_000;
  for (const rel of walk(root).reverse()) fs.lutimesSync(at(rel), t, (t += 1000) + 0.25);
  fs.utimesSync(root, t, t + 0.5);
}

/** Every path under root (root itself as ''), parents before children, siblings sorted. */
export function walk(root: string, rel = ''): string[] {
  const out = [rel];
  const abs = rel === '' ? root : path.join(root, rel);
  if (!fs.lstatSync(abs).isDirectory()) return out;
  for (const name of fs.readdirSync(abs).sort())
    out.push(...walk(root, rel === '' ? name : `${rel}/${name}`));
  return out;
}

/**
 * What a tree holds, one line per path: type, mode, owner, mtime (ms), size, device numbers,
 * link target, content digest, xattrs, and for files with several links the first path of
 * the group. Equal snapshots mean equal trees for a layer's purposes. `seconds` drops the
 * sub-second part of mtimes, which layer tars made by packDir do not keep.
 */
export function snapshot(
  root: string,
  options: { xattrs?: boolean; root?: boolean; seconds?: boolean } = {},
): Map<string, string> {
  const out = new Map<string, string>();
  const groups = new Map<string, string>();
  for (const rel of walk(root)) {
    if (rel === '' && options.root === false) continue;
    const abs = rel === '' ? root : path.join(root, rel);
    const st = fs.lstatSync(abs);
    const type = st.isFile()
      ? 'file'
      : st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isCharacterDevice()
            ? 'char'
            : st.isBlockDevice()
              ? 'block'
              : st.isFIFO()
                ? 'fifo'
                : 'other';
    const mtime = options.seconds ? Math.floor(st.mtimeMs / 1000) * 1000 : Math.round(st.mtimeMs);
    const fields = [type, (st.mode & 0o7777).toString(8), `${st.uid}:${st.gid}`, mtime];
    if (type === 'file') {
      fields.push(st.size, sha256(fs.readFileSync(abs)));
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (!groups.has(key)) groups.set(key, rel);
        fields.push(`links=${st.nlink} group=${groups.get(key)}`);
      }
    }
    if (type === 'char' || type === 'block') fields.push(`rdev=${st.rdev}`);
    if (type === 'symlink') fields.push(`-> ${fs.readlinkSync(abs)}`);
    if (options.xattrs !== false) {
      const xattrs = [...readXattrs(abs)].sort(([a], [b]) => (a < b ? -1 : 1));
      for (const [name, value] of xattrs) fields.push(`${name}=${value.toString('hex')}`);
    }
    out.set(rel, fields.join(' '));
  }
  return out;
}

/** A snapshot of the directory around `root`, leaving `root`'s contents out: proves nothing leaked. */
export function surroundings(base: string, root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of walk(base)) {
    const abs = rel === '' ? base : path.join(base, rel);
    if (abs === root || abs.startsWith(`${root}/`)) continue;
    const st = fs.lstatSync(abs);
    const data = st.isFile() ? sha256(fs.readFileSync(abs)) : '';
    out.set(rel, `${st.mode} ${st.nlink} ${st.size} ${st.mtimeMs} ${st.ctimeMs} ${data}`);
  }
  return out;
}
