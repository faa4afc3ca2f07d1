import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from './digest.js';
import type { Index } from './manifest.js';
import { MediaType } from './media-types.js';
import {
  asPlatform,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  selectManifest,
  type Platform,
} from './platform.js';

const p = (s: string): Platform => parsePlatform(s);

describe('parsePlatform and formatPlatform', () => {
  const valid: [string, Platform, string][] = [
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/arm/7', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['Linux/x86_64', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
    ['linux/armhf', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    ['linux/i386', { os: 'linux', architecture: '386' }, 'linux/386'],
    ['linux/amd64/v1', { os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64', variant: 'v3' }, 'linux/amd64/v3'],
    ['windows/amd64', { os: 'windows', architecture: 'amd64' }, 'windows/amd64'],
    ['arm64', { os: 'linux', architecture: 'arm64' }, 'linux/arm64'],
  ];
  for (const [input, want, formatted] of valid) {
    it(`parses ${input}`, () => {
      assert.deepEqual(parsePlatform(input), want);
      assert.equal(formatPlatform(parsePlatform(input)), formatted);
    });
  }

  const invalid: [string, string][] = [
    ['', 'parse platform ``: empty component (expected os/arch[/variant])'],
    ['linux/', 'parse platform `linux/`: empty component (expected os/arch[/variant])'],
    ['linux', 'parse platform `linux`: unknown architecture `linux` (expected os/arch[/variant])'],
    [
      'linux/amd64/v3/x',
      'parse platform `linux/amd64/v3/x`: too many components (expected os/arch[/variant])',
    ],
    [
      'linux/am d64',
      'parse platform `linux/am d64`: invalid component `am d64` (expected os/arch[/variant])',
    ],
    ['linux//amd64', 'parse platform `linux//amd64`: empty component (expected os/arch[/variant])'],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parsePlatform(input), { name: 'InvalidArgument', message });
    });
  }
});

describe('normalizePlatform', () => {
  const table: [Platform, Platform][] = [
    [
      { os: 'linux', architecture: 'x86_64' },
      { os: 'linux', architecture: 'amd64' },
    ],
    [
      { os: 'linux', architecture: 'aarch64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ],
    [
      { os: 'linux', architecture: 'arm64', variant: '8' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ],
    [
      { os: 'linux', architecture: 'arm' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ],
    [
      { os: 'linux', architecture: 'arm', variant: 'v6' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    ],
    [
      { os: 'linux', architecture: 'armel' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    ],
    [
      { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1', 'os.features': ['win32k'] },
      { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1', 'os.features': ['win32k'] },
    ],
  ];
  for (const [input, want] of table) {
    it(`${formatPlatform(input)} → ${formatPlatform(want)}`, () =>
      assert.deepEqual(normalizePlatform(input), want));
  }
});

describe('hostPlatform', () => {
  it('is linux with a Go architecture name', () => {
    const host = hostPlatform();
    assert.equal(host.os, 'linux');
    const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };
    assert.equal(host.architecture, expected[process.arch] ?? host.architecture);
    if (host.architecture === 'arm64') assert.equal(host.variant, 'v8');
    assert.deepEqual(normalizePlatform(host), host);
  });
});

describe('platformMatches', () => {
  const table: [string, Platform, boolean][] = [
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }, true],
    ['linux/amd64', { os: 'linux', architecture: 'x86_64' }, true],
    ['linux/amd64', { os: 'linux', architecture: 'arm64' }, false],
    ['linux/amd64', { os: 'windows', architecture: 'amd64' }, false],
    ['linux/arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }, true],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64' }, true],
    ['linux/arm64/v8', { os: 'linux', architecture: 'aarch64' }, true],
    ['linux/arm64', { os: 'linux', architecture: 'arm64', variant: 'v9' }, true],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v9' }, false],
    ['linux/arm', { os: 'linux', architecture: 'arm', variant: 'v6' }, true],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v6' }, true],
    ['linux/arm/v6', { os: 'linux', architecture: 'arm', variant: 'v7' }, false],
    ['linux/arm/v7', { os: 'linux', architecture: 'arm' }, true],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64' }, true],
    ['linux/amd64/v2', { os: 'linux', architecture: 'amd64', variant: 'v3' }, false],
    ['linux/amd64', { os: 'linux', architecture: 'amd64', variant: 'v3' }, true],
  ];
  for (const [want, have, matches] of table) {
    it(`${want} ${matches ? 'runs' : 'does not run'} ${formatPlatform(have)}`, () => {
      assert.equal(platformMatches(p(want), have), matches);
    });
  }
});

describe('selectManifest', () => {
  const entry = (platform: Platform | undefined, name: string) => ({
    mediaType: MediaType.OciManifest,
    digest: digestOf(name),
    size: 100,
    ...(platform ? { platform } : {}),
  });
  const index: Index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      entry({ os: 'linux', architecture: 'amd64' }, 'amd64'),
      entry({ os: 'linux', architecture: 'arm', variant: 'v6' }, 'armv6'),
      entry({ os: 'linux', architecture: 'arm', variant: 'v7' }, 'armv7'),
      entry({ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'arm64'),
      entry({ os: 'linux', architecture: 'amd64', variant: 'v3' }, 'amd64v3'),
      entry({ os: 'unknown', architecture: 'unknown' }, 'attestation'),
      entry(undefined, 'no platform'),
    ],
  };
  const table: [string, string | undefined][] = [
    ['linux/amd64', 'amd64'],
    ['linux/amd64/v3', 'amd64v3'],
    ['linux/amd64/v2', 'amd64'],
    ['linux/arm64', 'arm64'],
    ['linux/aarch64', 'arm64'],
    ['linux/arm', 'armv7'],
    ['linux/arm/v7', 'armv7'],
    ['linux/arm/v6', 'armv6'],
    ['linux/arm/v8', 'armv7'],
    ['linux/arm/v5', undefined],
    ['linux/s390x', undefined],
    ['windows/amd64', undefined],
  ];
  for (const [want, name] of table) {
    it(`picks ${name ?? 'nothing'} for ${want}`, () => {
      assert.equal(selectManifest(index, p(want))?.digest, name === undefined ? undefined : digestOf(name));
    });
  }

  it('takes a compatible older variant when the exact one is missing', () => {
    const only = {
      ...index,
      manifests: [entry({ os: 'linux', architecture: 'arm', variant: 'v5' }, 'armv5')],
    };
    assert.equal(selectManifest(only, p('linux/arm/v7'))?.digest, digestOf('armv5'));
    assert.equal(selectManifest(only, p('linux/arm'))?.digest, digestOf('armv5'));
  });

  it('prefers a default variant over another when none was asked for', () => {
    const two = {
      ...index,
      manifests: [
        entry({ os: 'linux', architecture: 'arm64', variant: 'v9' }, 'v9'),
        entry({ os: 'linux', architecture: 'arm64' }, 'plain'),
      ],
    };
    assert.equal(selectManifest(two, p('linux/arm64'))?.digest, digestOf('plain'));
  });
});

describe('asPlatform', () => {
  it('validates fields', () => {
    assert.throws(() => asPlatform({ os: 'linux', architecture: 5 }, 'manifests[0].platform'), {
      message: 'manifests[0].platform.architecture: expected a string, got number',
    });
    assert.throws(() => asPlatform({ os: 'linux', architecture: 'amd64', 'os.features': 'x' }, 'p'), {
      message: 'p.os.features: expected an array, got string',
    });
  });
});
