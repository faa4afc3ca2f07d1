/** `skiff inspect` and `skiff history` for images. */
import type { HistoryEntry } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import type { Store } from '../store/store.js';
import { findImage } from './image.js';

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
  id: Digest | '<missing>';
  created: string | undefined;
  createdBy: string;
  size: number;
  comment: string;
}

/** Newest first, each history entry with the size of the layer it made (0 for empty_layer). */
export function imageHistory(store: Store, input: string): HistoryRow[] {
  const image = findImage(store, input);
  const diffIds = image.config.rootfs.diff_ids;
  const history = image.config.history ?? diffIds.map(() => ({}) as HistoryEntry);
  let layer = 0;
  const rows: HistoryRow[] = history.map((entry) => {
    let size = 0;
    if (!entry.empty_layer) {
      const diffId = diffIds[layer++];
      size = diffId ? (store.meta.layer(diffId)?.size ?? 0) : 0;
    }
    return {
      id: '<missing>',
      created: entry.created,
      createdBy: entry.created_by ?? '',
      size,
      comment: entry.comment ?? '',
    };
  });
  if (rows.length > 0) rows[rows.length - 1]!.id = image.id;
  return rows.reverse();
}
