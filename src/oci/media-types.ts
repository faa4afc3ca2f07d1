/**
 * Media types skiff understands (image-spec media-types.md, and Docker's "Image Manifest V2,
 * Schema 2" for the docker types still served by most registries).
 */

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  // Deprecated by image-spec v1.1, but still found in Windows images.
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  // Recognised only to be refused with a clear message: schema1 is unsupported.
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType];

const LAYER_COMPRESSION: ReadonlyMap<string, 'gzip' | 'zstd' | 'none'> = new Map([
  [MediaType.OciLayer, 'none'],
  [MediaType.OciLayerGzip, 'gzip'],
  [MediaType.OciLayerZstd, 'zstd'],
  [MediaType.OciLayerNondistributable, 'none'],
  [MediaType.OciLayerNondistributableGzip, 'gzip'],
  [MediaType.OciLayerNondistributableZstd, 'zstd'],
  [MediaType.DockerLayer, 'none'],
  [MediaType.DockerLayerGzip, 'gzip'],
  [MediaType.DockerForeignLayer, 'gzip'],
]);

export function isManifestType(mediaType: string): boolean {
  return mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest;
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

export function isSchema1Type(mediaType: string): boolean {
  return mediaType === MediaType.DockerSchema1Manifest || mediaType === MediaType.DockerSchema1SignedManifest;
}

/** A filesystem layer (a tar changeset, possibly compressed) that skiff can unpack. */
export function isLayerType(mediaType: string): boolean {
  return LAYER_COMPRESSION.has(mediaType);
}

/** How a layer blob is compressed; undefined when `mediaType` is not a layer type. */
export function layerCompression(mediaType: string): 'gzip' | 'zstd' | 'none' | undefined {
  return LAYER_COMPRESSION.get(mediaType);
}

/**
 * Layers that registries may refuse to store and that are fetched from `urls` instead
 * (image-spec layer.md, "Non-distributable layers").
 */
export function isNondistributableLayer(mediaType: string): boolean {
  return (
    mediaType === MediaType.DockerForeignLayer ||
    mediaType === MediaType.OciLayerNondistributable ||
    mediaType === MediaType.OciLayerNondistributableGzip ||
    mediaType === MediaType.OciLayerNondistributableZstd
  );
}

// RFC 6838 section 4.2: type "/" subtype, each a restricted name of at most 127 characters.
const RESTRICTED_NAME = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}';
const MEDIA_TYPE = new RegExp(`^${RESTRICTED_NAME}/${RESTRICTED_NAME}$`);

/** Whether `s` has the shape of a media type (descriptor.md requires RFC 6838 names). */
export function isValidMediaType(s: string): boolean {
  return MEDIA_TYPE.test(s);
}

/**
 * The media type in an HTTP Content-Type value: parameters dropped, lowercased
 * ("application/vnd.oci.image.index.v1+json; charset=utf-8" → the bare type).
 */
export function mediaTypeOfContentType(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}
