/**
 * Platforms ("linux/arm64/v8") and choosing an image for one out of an index
 * (image-spec image-index.md, "platform"). Names follow Go's GOOS/GOARCH, as the spec asks;
 * the aliases other tools emit (x86_64, aarch64, armhf) are normalised to them.
 */

import { InvalidArgument } from '../util/errors.js';
import type { Descriptor } from './descriptor.js';
import { asNonEmptyString, asObject, asString, asStringArray, optional, quote, required } from './fields.js';
import type { Index } from './manifest.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** Go's GOARCH for each of node's `process.arch` values that differ from it. */
const NODE_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', mipsel: 'mipsle', ppc64: 'ppc64le' };

export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  if (architecture === 'arm') {
    // Node's build records the ARM level it targets; v7 is what every supported build uses.
    const level = (process.config.variables as Record<string, unknown>)['arm_version'];
    const variant = typeof level === 'string' || typeof level === 'number' ? `v${level}` : 'v7';
    return { os: 'linux', architecture, variant };
  }
  // Containers are Linux; on another host skiff still wants Linux images.
  return normalizePlatform({ os: 'linux', architecture });
}

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
  armv5l: { architecture: 'arm', variant: 'v5' },
  armv6l: { architecture: 'arm', variant: 'v6' },
  armv7l: { architecture: 'arm', variant: 'v7' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  x86: { architecture: '386' },
  ppc64el: { architecture: 'ppc64le' },
};

/** Canonical names without filling in default variants: what the user asked for, spelled our way. */
function canonical(p: Platform): Platform {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  const alias = ARCH_ALIASES[p.architecture.toLowerCase()];
  const architecture = alias?.architecture ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || alias?.variant;
  if (variant !== undefined && /^\d/.test(variant)) variant = `v${variant}`;
  if (architecture === 'arm64' && variant === 'v8.0') variant = 'v8';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: Platform = { os, architecture };
  if (variant !== undefined) out.variant = variant;
  if (p['os.version'] !== undefined) out['os.version'] = p['os.version'];
  if (p['os.features'] !== undefined) out['os.features'] = [...p['os.features']];
  return out;
}

/** x86_64→amd64, aarch64→arm64; arm64 defaults to variant v8 and arm to v7. */
export function normalizePlatform(p: Platform): Platform {
  const out = canonical(p);
  if (out.variant === undefined) {
    if (out.architecture === 'arm64') out.variant = 'v8';
    else if (out.architecture === 'arm') out.variant = 'v7';
  }
  return out;
}

const KNOWN_ARCHITECTURES = new Set([
  '386',
  'amd64',
  'arm',
  'arm64',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'ppc64',
  'ppc64le',
  'riscv64',
  's390x',
  'wasm',
]);

const COMPONENT = /^[A-Za-z0-9_.-]+$/;

/**
 * "linux/amd64", "linux/arm64/v8"; a lone known architecture ("arm64") means Linux, as in
 * containerd. Names are canonicalised but no default variant is added, so "linux/arm64"
 * still matches any arm64 variant.
 */
export function parsePlatform(s: string): Platform {
  const invalid = (why: string): InvalidArgument =>
    new InvalidArgument(`parse platform ${quote(s)}: ${why} (expected os/arch[/variant])`);
  const parts = s.split('/');
  if (parts.length > 3) throw invalid('too many components');
  const bad = parts.find((part) => !COMPONENT.test(part));
  if (bad !== undefined) throw invalid(bad === '' ? 'empty component' : `invalid component ${quote(bad)}`);
  const [first = '', architecture, variant] = parts;
  if (architecture === undefined) {
    const p = canonical({ os: 'linux', architecture: first });
    if (!KNOWN_ARCHITECTURES.has(p.architecture)) throw invalid(`unknown architecture ${quote(first)}`);
    return p;
  }
  return canonical(
    variant === undefined ? { os: first, architecture } : { os: first, architecture, variant },
  );
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/**
 * Variants a CPU of a given variant can also run, best first: an armv7 CPU runs v6 and v5
 * code, an x86-64-v3 CPU runs v2 and baseline code (containerd's platform matcher does the same).
 */
const COMPATIBLE_VARIANTS: Record<string, readonly (string | undefined)[]> = {
  'arm/v8': ['v8', 'v7', 'v6', 'v5'],
  'arm/v7': ['v7', 'v6', 'v5'],
  'arm/v6': ['v6', 'v5'],
  'arm/v5': ['v5'],
  'amd64/v4': ['v4', 'v3', 'v2', undefined],
  'amd64/v3': ['v3', 'v2', undefined],
  'amd64/v2': ['v2', undefined],
};

/**
 * How well `have` serves `want`: 0 is an exact variant, higher is worse, undefined is no match.
 * A `want` without a variant accepts any variant, ranking its default variant first.
 */
function matchRank(want: Platform, have: Platform): number | undefined {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return undefined;
  if (w.variant === h.variant) return 0;
  const compatible = COMPATIBLE_VARIANTS[`${w.architecture}/${w.variant}`] ?? [];
  const index = compatible.indexOf(h.variant);
  if (index >= 0) return index;
  return canonical(want).variant === undefined ? compatible.length + 1 : undefined;
}

export function platformMatches(want: Platform, have: Platform): boolean {
  return matchRank(want, have) !== undefined;
}

/** The manifest in `index` that best runs on `want`; ties go to the earlier entry. */
export function selectManifest(index: Index, want: Platform): Descriptor | undefined {
  let best: Descriptor | undefined;
  let bestRank = Infinity;
  for (const descriptor of index.manifests) {
    if (descriptor.platform === undefined) continue;
    const rank = matchRank(want, descriptor.platform);
    if (rank !== undefined && rank < bestRank) {
      best = descriptor;
      bestRank = rank;
    }
  }
  return best;
}

/** The `platform` object of an index entry or a descriptor. */
export function asPlatform(value: unknown, where: string): Platform {
  const obj = asObject(value, where);
  const p: Platform = {
    architecture: required(obj, 'architecture', where, asNonEmptyString),
    os: required(obj, 'os', where, asNonEmptyString),
  };
  const variant = optional(obj, 'variant', where, asString);
  if (variant !== undefined) p.variant = variant;
  const osVersion = optional(obj, 'os.version', where, asString);
  if (osVersion !== undefined) p['os.version'] = osVersion;
  const osFeatures = optional(obj, 'os.features', where, asStringArray, { nullIsAbsent: true });
  if (osFeatures !== undefined) p['os.features'] = osFeatures;
  return p;
}
