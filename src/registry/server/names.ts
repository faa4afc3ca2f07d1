/**
 * Repository names and tags (distribution-spec v1.1, "Pulling manifests": the `<name>` and
 * `<reference>` grammars). A valid name cannot climb out of its directory: every component
 * starts and ends with [a-z0-9], so `..`, `/x` and `%2F` never pass, and no component can be
 * one of the store's own `_`-prefixed directories.
 */
import { isDigest, type Digest } from '../../oci/digest.js';
import { RegistryError, digestInvalid } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** The spec lets registries cap names; the whole reference must fit 255 characters. */
const MAX_NAME = 255;

export function checkName(name: string): string {
  if (name.length > MAX_NAME || !NAME.test(name)) {
    throw new RegistryError(
      400,
      'NAME_INVALID',
      `check repository name \`${name}\`: must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/…)* and be at most ${MAX_NAME} characters`,
      { detail: { name } },
    );
  }
  return name;
}

export function isTag(reference: string): boolean {
  return TAG.test(reference);
}

export function checkTag(tag: string): string {
  if (!isTag(tag)) {
    throw new RegistryError(
      400,
      'TAG_INVALID',
      `check tag \`${tag}\`: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`,
      { detail: { tag } },
    );
  }
  return tag;
}

export function checkDigest(value: string): Digest {
  if (!isDigest(value)) throw digestInvalid(value, 'not a sha256 or sha512 digest (lowercase hex)');
  return value;
}

/** A manifest reference: a digest when it has a colon, else a tag. */
export function parseReference(reference: string): { digest: Digest } | { tag: string } {
  if (reference.includes(':')) return { digest: checkDigest(reference) };
  return { tag: checkTag(reference) };
}

/**
 * A reference to read or delete: as parseReference, but undefined for a tag that cannot be
 * valid. Such a tag names no manifest, so it is unknown (404), not bad input: TAG_INVALID is
 * what a push is told, as the distribution-spec conformance tests expect.
 */
export function lookupReference(reference: string): { digest: Digest } | { tag: string } | undefined {
  if (reference.includes(':')) return { digest: checkDigest(reference) };
  return isTag(reference) ? { tag: reference } : undefined;
}
