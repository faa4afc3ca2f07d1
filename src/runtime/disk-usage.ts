/**
 * `system df`: what images, containers and volumes take on disk. Images count each layer once
 * however many images share it (their shared part is said apart, as `docker system df -v`
 * does); a container's own size is its writable layer; a volume's, its data. Sizes are
 * apparent sizes, walked now: nothing is cached that could go stale.
 */
import { listImages } from '../image/list.js';
import type { Digest } from '../oci/digest.js';
import { treeSize } from '../store/gc.js';
import type { Store } from '../store/store.js';
import type { ContainerSummary } from './container-summary.js';
import { writableLayerSize } from './prune.js';
import type { Runtime } from './runtime.js';

export interface DiskUsage {
  /** Every unpacked layer, each once, and every image's config: what the images take. */
  layersSize: number;
  /** Of that, what no image a container was made from needs: what pruning images could free. */
  imagesReclaimable: number;
  images: {
    id: Digest;
    tags: string[];
    created: string | undefined;
    size: number;
    /** Bytes of layers another image uses too. */
    shared: number;
    /** Containers made from the image. */
    containers: number;
  }[];
  containers: (ContainerSummary & { sizeRw: number; sizeRootFs: number })[];
  volumes: { name: string; mountpoint: string; size: number; refCount: number }[];
}

export function diskUsage(runtime: Runtime, store: Store): DiskUsage {
  const containers = runtime.list({ all: true });
  const users = new Map<string, number>();
  for (const c of containers) users.set(c.imageId, (users.get(c.imageId) ?? 0) + 1);
  const images = listImages(store);
  const imageSize = new Map(images.map((i) => [i.id as string, i.size]));
  const layers = store.meta.layers();
  const configs = store.meta.images();
  const kept = new Set(images.filter((i) => users.has(i.id)).flatMap((i) => store.meta.imageLayers(i.id)));
  return {
    layersSize:
      layers.reduce((sum, l) => sum + l.size, 0) + configs.reduce((sum, i) => sum + i.config_size, 0),
    imagesReclaimable:
      layers.reduce((sum, l) => sum + (kept.has(l.diff_id) ? 0 : l.size), 0) +
      configs.reduce((sum, i) => sum + (users.has(i.id) ? 0 : i.config_size), 0),
    images: images.map((i) => ({
      id: i.id,
      tags: i.tags,
      created: i.created,
      size: i.size,
      shared: i.shared,
      containers: users.get(i.id) ?? 0,
    })),
    containers: containers.map((c) => {
      const sizeRw = writableLayerSize(runtime, c.id);
      return { ...c, sizeRw, sizeRootFs: sizeRw + (imageSize.get(c.imageId) ?? 0) };
    }),
    volumes: runtime.volumes.list().map((v) => ({
      name: v.name,
      mountpoint: v.mountpoint,
      size: treeSize(v.mountpoint),
      refCount: v.usedBy.length,
    })),
  };
}
