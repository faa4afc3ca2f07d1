/**
 * Content descriptors (image-spec descriptor.md): what a manifest or index says about each
 * blob it points to. Validation returns a fresh object holding only the known fields; the
 * bytes the descriptor came from stay the record.
 */

import { asDigest, digestOf, parseDigest, type Digest } from './digest.js';
import {
  asNonNegativeInteger,
  asObject,
  asString,
  asStringArray,
  asStringMap,
  at,
  fail,
  optional,
  quote,
  required,
} from './fields.js';
import { isValidMediaType } from './media-types.js';
import { asPlatform, type Platform } from './platform.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  data?: string;
}

/** A media type field: RFC 6838 "type/subtype" (descriptor.md, "mediaType"). */
export function asMediaType(value: unknown, where: string): string {
  const s = asString(value, where);
  if (!isValidMediaType(s)) fail(where, `invalid media type ${quote(s)}`);
  return s;
}

function asUrls(value: unknown, where: string): string[] {
  const urls = asStringArray(value, where);
  urls.forEach((url, i) => {
    if (!URL.canParse(url)) fail(at(where, i), `invalid URL ${quote(url)}`);
  });
  return urls;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Embedded content (image-spec v1.1 descriptor.md, "data"): the decoded bytes must be the
 * referenced content, so they are checked against size and digest here, once, instead of by
 * every reader.
 */
function checkData(data: string, size: number, digest: Digest, where: string): void {
  if (!BASE64.test(data)) fail(where, 'must be standard base64');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== size) fail(where, `decodes to ${bytes.length} bytes but size is ${size}`);
  const actual = digestOf(bytes, parseDigest(digest).algorithm);
  if (actual !== digest) fail(where, `content has digest ${actual}, not ${digest}`);
}

/** Checks a descriptor read from JSON; `where` (e.g. "layers[2]") prefixes every error. */
export function validateDescriptor(value: unknown, where: string): Descriptor {
  const obj = asObject(value, where);
  const descriptor: Descriptor = {
    mediaType: required(obj, 'mediaType', where, asMediaType),
    digest: required(obj, 'digest', where, asDigest),
    size: required(obj, 'size', where, asNonNegativeInteger),
  };
  const urls = optional(obj, 'urls', where, asUrls, { nullIsAbsent: true });
  if (urls !== undefined) descriptor.urls = urls;
  const annotations = optional(obj, 'annotations', where, asStringMap, { nullIsAbsent: true });
  if (annotations !== undefined) descriptor.annotations = annotations;
  const platform = optional(obj, 'platform', where, asPlatform, { nullIsAbsent: true });
  if (platform !== undefined) descriptor.platform = platform;
  const artifactType = optional(obj, 'artifactType', where, asMediaType);
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  const data = optional(obj, 'data', where, asString);
  if (data !== undefined) {
    checkData(data, descriptor.size, descriptor.digest, at(where, 'data'));
    descriptor.data = data;
  }
  return descriptor;
}
