/**
 * A layer that has never been compressed is compressed and uploaded in one pass, as Docker and
 * Podman do: its digest is unknown until the last byte, so it goes up as one streamed PATCH
 * (distribution-spec "Pushing a blob in chunks" allows a PATCH without Content-Range) and the
 * closing PUT names the digest computed on the way. The same bytes are written to a temp file
 * and adopted into blobs/ with a layer_blobs row, so the layer is never compressed again.
 *
 * Compression and upload overlap instead of following each other. The price: nothing can be
 * asked of the registry first (it may already hold this blob), and a broken stream cannot be
 * resumed; the caller then falls back to compressing into the store and the resumable upload.
 */
import fs from 'node:fs';
import { compressGzip, compressZstd } from '../../archive/compression.js';
import type { LayerCompression } from '../../image/layer-blob.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { createDigester, type Digest } from '../../oci/digest.js';
import { MediaType } from '../../oci/media-types.js';
import { tempName } from '../../util/atomic.js';
import type { Store } from '../../store/store.js';
import type { Session } from './session.js';
import { discard, header } from './transport.js';
import { pushScopes } from './upload.js';

const MEDIA_TYPE: Record<LayerCompression, string> = {
  gzip: MediaType.OciLayerGzip,
  zstd: MediaType.OciLayerZstd,
};

export async function compressAndUpload(
  store: Store,
  session: Session,
  repository: string,
  diffId: Digest,
  options: {
    compression?: LayerCompression;
    /** Bytes of the uncompressed tar read so far, and its size. */
    onBytes?: (bytes: number, total: number) => void;
    signal?: AbortSignal;
  },
): Promise<Descriptor> {
  const what = `push layer \`${diffId}\` to ${session.registry}/${repository}`;
  const scopes = pushScopes(repository);
  const signal = options.signal;
  const compression = options.compression ?? 'gzip';
  const mediaType = MEDIA_TYPE[compression];
  const total = store.meta.layer(diffId)?.size ?? 0;

  const start = await session.request(scopes, `/v2/${repository}/blobs/uploads/`, {
    method: 'POST',
    headers: { 'Content-Length': '0' },
    signal,
  });
  if (start.status !== 202) throw await session.error(start, what);
  await discard(start);
  const location = new URL(header(start, 'location') ?? '', start.url);

  const digester = createDigester('sha256');
  const tmp = tempName(store.paths.tmp, 'push-');
  const fd = fs.openSync(tmp, 'wx', 0o644);
  let closed = false;
  try {
    let read = 0;
    const tar = (async function* () {
      for await (const chunk of store.layers.tar(diffId, { signal })) {
        read += chunk.length;
        options.onBytes?.(read, total);
        yield chunk;
      }
    })();
    const compressed = compression === 'zstd' ? compressZstd(tar, { signal }) : compressGzip(tar, { signal });
    let sent = false;
    const body = async function* (): AsyncGenerator<Buffer> {
      // One pass only: a second request for the body (a retry) must not compress again.
      if (sent) throw new Error('stream upload cannot be repeated');
      sent = true;
      for await (const chunk of compressed) {
        digester.update(chunk);
        let offset = 0;
        while (offset < chunk.length) offset += fs.writeSync(fd, chunk, offset);
        yield chunk;
      }
    };
    const patch = await session.request(scopes, location.toString(), {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
      retry: false,
      signal,
    });
    if (patch.status !== 202) throw await session.error(patch, what);
    await discard(patch);
    const digest = digester.digest();
    const size = digester.bytes;
    const done = new URL(header(patch, 'location') ?? location.toString(), patch.url);
    done.searchParams.set('digest', digest);
    const put = await session.request(scopes, done.toString(), {
      method: 'PUT',
      headers: { 'Content-Length': '0' },
      signal,
    });
    if (put.status !== 201) throw await session.error(put, what);
    await discard(put);

    fs.fsyncSync(fd);
    fs.closeSync(fd);
    closed = true;
    if (!store.content.has(digest)) store.content.adopt(tmp, digest);
    store.meta.addLayerBlob({ digest, diff_id: diffId, media_type: mediaType, size });
    return { mediaType, digest, size };
  } finally {
    if (!closed) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
  }
}
