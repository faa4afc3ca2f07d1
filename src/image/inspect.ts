/** `skiff inspect` and `skiff history` for images. */
import { parseImageConfig, type HistoryEntry } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import type { Store } from '../store/store.js';
import { findImage, type Image } from './image.js';

export interface ImageInspect {
  Id: Digest;
  RepoTags: string[];
  Created: string | undefined;
  Architecture: string;
  Os: string;
  Variant?: string;
  Size: number;
  Config: unknown;
  RootFS: { Type: string; Layers: Digest[] };
  Manifest: { digest: Digest; mediaType: string; size: number; content: unknown };
  Layers: { diffId: Digest; size: number; blobs: { digest: Digest; mediaType: string; size: number }[] }[];
  History: HistoryEntry[];
}

export function inspectImage(store: Store, input: string): ImageInspect {
  const image = findImage(store, input);
  const layers = image.config.rootfs.diff_ids.map((diffId) => {
    const row = store.meta.layer(diffId);
    return {
      diffId,
      size: row?.size ?? 0,
      blobs: store.meta
        .layerBlobsOf(diffId)
        .map((b) => ({ digest: b.digest, mediaType: b.media_type, size: b.size })),
    };
  });
  return {
    Id: image.id,
    RepoTags: store.meta.tagsOfImage(image.id).map((t) => t.name),
    Created: image.config.created,
    Architecture: image.config.architecture,
    Os: image.config.os,
    ...(image.config.variant ? { Variant: image.config.variant } : {}),
    Size: image.configBytes.length + layers.reduce((sum, l) => sum + l.size, 0),
    Config: image.config.config ?? {},
    RootFS: { Type: image.config.rootfs.type, Layers: image.config.rootfs.diff_ids },
    Manifest: {
      digest: image.manifestDigest,
      mediaType: image.mediaType,
      size: image.manifestBytes.length,
      content: JSON.parse(image.manifestBytes.toString('utf8')) as unknown,
    },
    Layers: layers,
    History: image.config.history ?? [],
  };
}

export interface HistoryRow {
  /** The stored image this row was the top of, or `<missing>` when none is stored. */
  id: Digest | '<missing>';
  /** That image's full tag names. */
  tags: string[];
  created: string | undefined;
  createdBy: string;
  size: number;
  comment: string;
}

/**
 * Newest first, each history entry with the size of the layer it made (0 for empty_layer) and,
 * as `docker history` shows them, the ID of the stored image it was the top of: the image
 * itself on the newest row, a base image or a build step's image further down.
 */
export function imageHistory(store: Store, input: string): HistoryRow[] {
  const image = findImage(store, input);
  const diffIds = image.config.rootfs.diff_ids;
  const history = image.config.history ?? diffIds.map(() => ({}) as HistoryEntry);
  const tops = image.config.history ? ancestors(store, image, history) : new Map<number, Digest>();
  tops.set(history.length, image.id);
  let layer = 0;
  const rows: HistoryRow[] = history.map((entry, i) => {
    let size = 0;
    if (!entry.empty_layer) {
      const diffId = diffIds[layer++];
      size = diffId ? (store.meta.layer(diffId)?.size ?? 0) : 0;
    }
    const id = tops.get(i + 1);
    return {
      id: id ?? '<missing>',
      tags: id ? store.meta.tagsOfImage(id).map((t) => t.name) : [],
      created: entry.created,
      createdBy: entry.created_by ?? '',
      size,
      comment: entry.comment ?? '',
    };
  });
  return rows.reverse();
}

/**
 * The stored images whose history is a shorter prefix of `history` over a prefix of the
 * image's layers, by their history length. Only images whose layers fit are read.
 */
function ancestors(store: Store, image: Image, history: HistoryEntry[]): Map<number, Digest> {
  const diffIds = image.config.rootfs.diff_ids;
  const found = new Map<number, Digest>();
  for (const row of store.meta.images()) {
    if (row.id === image.id) continue;
    const layers = store.meta.imageLayers(row.id);
    if (layers.length > diffIds.length || layers.some((d, i) => d !== diffIds[i])) continue;
    let theirs: HistoryEntry[];
    try {
      theirs = parseImageConfig(store.content.readBytes(row.id)).history ?? [];
    } catch {
      // An unreadable config is check's business; here the row just stays <missing>.
      continue;
    }
    if (theirs.length === 0 || theirs.length >= history.length || found.has(theirs.length)) continue;
    if (theirs.every((entry, i) => sameEntry(entry, history[i]!))) found.set(theirs.length, row.id);
  }
  return found;
}

function sameEntry(a: HistoryEntry, b: HistoryEntry): boolean {
  const key = (e: HistoryEntry) =>
    JSON.stringify([e.created, e.created_by, e.author, e.comment, e.empty_layer === true]);
  return key(a) === key(b);
}
