/**
 * Image manifests and indexes (image-spec manifest.md and image-index.md; Docker's schema 2
 * manifest and manifest list). These documents are kept as their exact bytes, since their
 * digest is their identity: parse to read, never re-serialise to write.
 */

import { InvalidArgument } from '../util/errors.js';
import { asMediaType, validateDescriptor, type Descriptor } from './descriptor.js';
import { MAX_METADATA_BYTES } from './limits.js';
import {
  asArray,
  asNonNegativeInteger,
  asObject,
  asStringMap,
  at,
  fail,
  jsonType,
  optional,
  parseJson,
  quote,
  required,
  withContext,
} from './fields.js';
import {
  isIndexType,
  isManifestType,
  isSchema1Type,
  MediaType,
  mediaTypeOfContentType,
} from './media-types.js';

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface Index {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/**
 * Content types that say nothing about the document (a file server's default, a registry
 * that lost the type); they are treated as no hint at all rather than as a mismatch.
 */
const UNINFORMATIVE_HINTS = new Set(['', 'application/json', 'application/octet-stream', 'text/plain']);

interface Document {
  obj: Record<string, unknown>;
  mediaType: string;
  kind: 'manifest' | 'index';
}

/** Reads the JSON and settles which kind of document it is: its field, else the hint, else its shape. */
function readDocument(bytes: Buffer, mediaTypeHint: string | undefined): Document {
  if (bytes.length > MAX_METADATA_BYTES) {
    throw new InvalidArgument(`${bytes.length} bytes exceeds the limit of ${MAX_METADATA_BYTES} bytes`);
  }
  const obj = asObject(parseJson(bytes), '');
  const field = optional(obj, 'mediaType', '', asMediaType);
  const normalisedHint = mediaTypeHint === undefined ? undefined : mediaTypeOfContentType(mediaTypeHint);
  const hint =
    normalisedHint === undefined || UNINFORMATIVE_HINTS.has(normalisedHint) ? undefined : normalisedHint;

  if (obj['schemaVersion'] === 1 || isSchema1Type(field ?? hint ?? '')) {
    fail('', 'Docker schema 1 manifests are not supported (deprecated since 2017; re-push the image)');
  }
  const version = required(obj, 'schemaVersion', '', asNonNegativeInteger);
  if (version !== 2) fail('schemaVersion', `must be 2, got ${version}`);
  if (field !== undefined && hint !== undefined && field !== hint) {
    fail('mediaType', `${quote(field)} does not match the expected media type ${quote(hint)}`);
  }

  const mediaType = field ?? hint ?? inferMediaType(obj);
  let kind: Document['kind'];
  if (isManifestType(mediaType)) kind = 'manifest';
  else if (isIndexType(mediaType)) kind = 'index';
  else fail('mediaType', `unsupported media type ${quote(mediaType)}`);

  // A document that reads as both kinds could be resolved differently by another client
  // (GHSA-77vh-xpmg-72qh); refuse it.
  if (kind === 'manifest' && obj['manifests'] !== undefined) {
    fail('', `a manifest (${mediaType}) must not have a \`manifests\` field`);
  }
  if (kind === 'index' && (obj['config'] !== undefined || obj['layers'] !== undefined)) {
    fail('', `an index (${mediaType}) must not have \`config\` or \`layers\` fields`);
  }
  return { obj, mediaType, kind };
}

/** An OCI document may omit `mediaType` (image-spec: "reserved"); its fields then tell. */
function inferMediaType(obj: Record<string, unknown>): string {
  const hasManifests = obj['manifests'] !== undefined;
  const hasConfig = obj['config'] !== undefined;
  if (hasManifests && hasConfig) fail('', 'no mediaType, and has both `manifests` and `config`');
  if (hasManifests) return MediaType.OciIndex;
  if (hasConfig) return MediaType.OciManifest;
  fail('', 'no mediaType, and neither `config` nor `manifests`: not a manifest or an index');
}

function asDescriptors(value: unknown, where: string): Descriptor[] {
  return asArray(value, where).map((item, i) => validateDescriptor(item, at(where, i)));
}

function toManifest(doc: Document): Manifest {
  const { obj } = doc;
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: doc.mediaType,
    config: required(obj, 'config', '', validateDescriptor),
    layers: required(obj, 'layers', '', asDescriptors),
  };
  const subject = optional(obj, 'subject', '', validateDescriptor);
  if (subject !== undefined) manifest.subject = subject;
  const annotations = optional(obj, 'annotations', '', asStringMap, { nullIsAbsent: true });
  if (annotations !== undefined) manifest.annotations = annotations;
  const artifactType = optional(obj, 'artifactType', '', asMediaType);
  if (artifactType !== undefined) manifest.artifactType = artifactType;
  return manifest;
}

function toIndex(doc: Document): Index {
  const { obj } = doc;
  const index: Index = {
    schemaVersion: 2,
    mediaType: doc.mediaType,
    manifests: required(obj, 'manifests', '', asDescriptors),
  };
  const subject = optional(obj, 'subject', '', validateDescriptor);
  if (subject !== undefined) index.subject = subject;
  const annotations = optional(obj, 'annotations', '', asStringMap, { nullIsAbsent: true });
  if (annotations !== undefined) index.annotations = annotations;
  const artifactType = optional(obj, 'artifactType', '', asMediaType);
  if (artifactType !== undefined) index.artifactType = artifactType;
  return index;
}

function checkBytes(bytes: unknown): void {
  if (!Buffer.isBuffer(bytes)) fail('', `expected a Buffer, got ${jsonType(bytes)}`);
}

/** An OCI image manifest or a Docker schema 2 manifest. */
export function parseManifest(bytes: Buffer, mediaTypeHint?: string): Manifest {
  return withContext('parse manifest', () => {
    checkBytes(bytes);
    const doc = readDocument(bytes, mediaTypeHint);
    if (doc.kind !== 'manifest') fail('', `got an index (${doc.mediaType}), not a manifest`);
    return toManifest(doc);
  });
}

/** An OCI image index or a Docker manifest list. */
export function parseIndex(bytes: Buffer, mediaTypeHint?: string): Index {
  return withContext('parse index', () => {
    checkBytes(bytes);
    const doc = readDocument(bytes, mediaTypeHint);
    if (doc.kind !== 'index') fail('', `got a manifest (${doc.mediaType}), not an index`);
    return toIndex(doc);
  });
}

export function parseManifestOrIndex(
  bytes: Buffer,
  mediaTypeHint?: string,
): { kind: 'manifest'; manifest: Manifest } | { kind: 'index'; index: Index } {
  return withContext('parse manifest', () => {
    checkBytes(bytes);
    const doc = readDocument(bytes, mediaTypeHint);
    return doc.kind === 'manifest'
      ? { kind: 'manifest', manifest: toManifest(doc) }
      : { kind: 'index', index: toIndex(doc) };
  });
}
