/**
 * Image references ("busybox", "ghcr.io/o/r:t@sha256:…") with Docker's normalisation
 * (distribution/reference: reference.go grammar, normalize.go familiar names):
 *
 *   reference   := name [":" tag] ["@" digest]
 *   name        := [registry "/"] path-component ("/" path-component)*
 *   registry    := host [":" port]; host := domain-name | "[" IPv6 "]"
 *   path-component := [a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)*
 *   tag         := [\w][\w.-]{0,127}
 */

import { InvalidArgument } from '../util/errors.js';
import { parseDigest, type Digest } from './digest.js';
import { quote } from './fields.js';

export interface Reference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

export const DOCKER_HUB = 'docker.io';
/** The Docker Hub name from the v1 days ("the Docker Index"), normalised to docker.io. */
const LEGACY_DOCKER_HUB = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
export const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
// IPv6 only in brackets, without zone identifiers or embedded IPv4, as Docker allows.
const REGISTRY = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const IMAGE_ID = /^[a-f0-9]{64}$/;

/**
 * Whether the first path component names a registry rather than a Docker Hub namespace.
 * Docker also takes an uppercase component as a registry, since namespaces are lowercase.
 */
function isRegistry(component: string): boolean {
  return component === 'localhost' || /[.:]/.test(component) || component.toLowerCase() !== component;
}

/**
 * Whether a name says which registry holds it (`host.tld/…`, `host:5000/…`, `localhost/…`),
 * as `docker pull` reads it; a bare `app:v2` would mean Docker Hub.
 */
export function namesRegistry(name: string): boolean {
  const slash = name.indexOf('/');
  return slash >= 0 && isRegistry(name.slice(0, slash));
}

/** Splits "name[:tag]" into registry and repository, applying Docker Hub's defaults. */
function splitName(name: string): { registry: string; repository: string } {
  let registry = DOCKER_HUB;
  let repository = name;
  const slash = name.indexOf('/');
  if (slash >= 0 && isRegistry(name.slice(0, slash))) {
    const first = name.slice(0, slash);
    registry = first === LEGACY_DOCKER_HUB ? DOCKER_HUB : first;
    repository = name.slice(slash + 1);
  }
  // Docker Hub's official images live under "library/": "busybox" is "library/busybox".
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = OFFICIAL_PREFIX + repository;
  return { registry, repository };
}

/**
 * Parses a reference as `docker pull` does. A tag "latest" is added when there is neither
 * tag nor digest, unless `defaultTag` is false. A bare 64-hex string is refused: callers that
 * accept image IDs check for one before calling this.
 */
export function parseReference(s: string, options?: { defaultTag?: boolean }): Reference {
  const invalid = (why: string): InvalidArgument =>
    new InvalidArgument(`invalid reference ${quote(s)}: ${why}`);
  if (typeof s !== 'string' || s === '') throw invalid('empty');
  if (IMAGE_ID.test(s)) throw invalid('a 64-character hex string is an image ID, not a reference');

  let rest = s;
  let digest: Digest | undefined;
  const at = s.indexOf('@');
  if (at >= 0) {
    const d = s.slice(at + 1);
    try {
      parseDigest(d);
    } catch (err) {
      throw new InvalidArgument(`invalid reference ${quote(s)}: ${(err as Error).message}`, { cause: err });
    }
    digest = d;
    rest = s.slice(0, at);
  }

  // A colon after the last slash starts the tag; one before it belongs to a registry port.
  let tag: string | undefined;
  const colon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(`invalid tag ${quote(tag)}: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    }
  }
  if (rest === '') throw invalid('missing repository name');

  const { registry, repository } = splitName(rest);
  if (!REGISTRY.test(registry)) throw invalid(`invalid registry ${quote(registry)}`);
  if (repository.toLowerCase() !== repository) throw invalid('repository name must be lowercase');
  for (const component of repository.split('/')) {
    if (component === '') throw invalid(`repository ${quote(repository)} has an empty path component`);
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        `invalid path component ${quote(component)}: lowercase letters and digits, separated by '.', '_', '__' or '-'`,
      );
    }
  }
  const nameLength = registry.length + 1 + repository.length;
  if (nameLength > MAX_NAME_LENGTH) {
    throw invalid(`name is ${nameLength} characters, more than ${MAX_NAME_LENGTH}`);
  }

  const ref: Reference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  else if (digest === undefined && options?.defaultTag !== false) ref.tag = DEFAULT_TAG;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

function suffix(r: Reference): string {
  return (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** Fully qualified: "docker.io/library/busybox:latest". */
export function formatReference(r: Reference): string {
  return `${r.registry}/${r.repository}${suffix(r)}`;
}

/** The name as `docker images` shows it: "busybox", "user/app", "localhost:5000/a/b". */
export function familiarName(r: Reference): string {
  if (r.registry !== DOCKER_HUB) return `${r.registry}/${r.repository}`;
  if (r.repository.startsWith(OFFICIAL_PREFIX)) {
    const rest = r.repository.slice(OFFICIAL_PREFIX.length);
    // "library/foo/bar" is a nested namespace, not an official image; it keeps its prefix.
    if (!rest.includes('/')) return rest;
  }
  return r.repository;
}

/** familiarName plus ":tag" and/or "@digest". */
export function familiarString(r: Reference): string {
  return familiarName(r) + suffix(r);
}
