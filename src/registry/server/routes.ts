/**
 * The distribution-spec v1.1 endpoint table ("API" section, end-1 … end-13), matched on the
 * raw request path. A name may hold slashes, so each route is matched from its end. Anything
 * percent-encoded in a name is refused: `%2F` must not smuggle a separator past the grammar.
 */
import { RegistryError } from './errors.js';
import { checkName } from './names.js';

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'token' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

const PATTERNS: [RegExp, (m: RegExpExecArray) => Route][] = [
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, reference: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1]!, uuid: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: m[2]! })],
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: m[2]! })],
];

/** The route for a path (no query), or undefined for 404. Names are checked here. */
export function route(pathname: string): Route | undefined {
  if (pathname === '/v2/' || pathname === '/v2') return { kind: 'base' };
  if (pathname === '/v2/_catalog') return { kind: 'catalog' };
  if (pathname === '/token') return { kind: 'token' };
  for (const [pattern, make] of PATTERNS) {
    const m = pattern.exec(pathname);
    if (m === null) continue;
    const found = make(m);
    if ('name' in found) {
      if (found.name.includes('%'))
        throw new RegistryError(
          400,
          'NAME_INVALID',
          `check repository name \`${found.name}\`: no percent-encoding allowed`,
          {
            detail: { name: found.name },
          },
        );
      checkName(found.name);
    }
    for (const field of ['reference', 'digest', 'uuid'] as const) {
      if (field in found) {
        const value = (found as Record<string, string>)[field]!;
        (found as Record<string, string>)[field] = decodeURIComponent(value);
      }
    }
    return found;
  }
  if (pathname.startsWith('/v2/'))
    throw new RegistryError(404, 'NAME_UNKNOWN', `route \`${pathname}\`: no such endpoint`);
  return undefined;
}
