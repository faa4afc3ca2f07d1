import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from './digest.js';
import { MAX_METADATA_BYTES } from './limits.js';
import { parseIndex, parseManifest, parseManifestOrIndex } from './manifest.js';
import { MediaType } from './media-types.js';

const CONFIG = digestOf('config');
const LAYER1 = digestOf('layer1');
const LAYER2 = digestOf('layer2');
const AMD64 = digestOf('amd64 manifest');
const ARM64 = digestOf('arm64 manifest');

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 2));

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: CONFIG, size: 1469 },
  layers: [
    { mediaType: MediaType.OciLayerGzip, digest: LAYER1, size: 2479 },
    { mediaType: MediaType.OciLayerZstd, digest: LAYER2, size: 100 },
  ],
  annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
};

const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifest,
  config: { mediaType: MediaType.DockerConfig, size: 7023, digest: CONFIG },
  layers: [{ mediaType: MediaType.DockerLayerGzip, size: 32654, digest: LAYER1 }],
};

const ociIndex = {
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    {
      mediaType: MediaType.OciManifest,
      digest: AMD64,
      size: 7143,
      platform: { architecture: 'amd64', os: 'linux' },
    },
    {
      mediaType: MediaType.OciManifest,
      digest: ARM64,
      size: 7682,
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    },
  ],
  annotations: { 'com.example.key1': 'value1' },
};

const dockerList = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifestList,
  manifests: [
    {
      mediaType: MediaType.DockerManifest,
      digest: AMD64,
      size: 7143,
      platform: { architecture: 'ppc64le', os: 'linux' },
    },
  ],
};

// Docker's original v2 schema 1 format: no config, fsLayers and a JWS signature.
const schema1 = {
  schemaVersion: 1,
  name: 'hello-world',
  tag: 'latest',
  architecture: 'amd64',
  fsLayers: [{ blobSum: LAYER1 }],
  history: [{ v1Compatibility: '{}' }],
  signatures: [],
};

const artifact = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  artifactType: 'application/vnd.example.sbom.v1+json',
  config: { mediaType: MediaType.OciEmpty, digest: digestOf('{}'), size: 2, data: 'e30=' },
  layers: [{ mediaType: 'application/spdx+json', digest: LAYER1, size: 10 }],
  subject: { mediaType: MediaType.OciManifest, digest: AMD64, size: 7143 },
};

describe('parseManifest', () => {
  it('reads an OCI manifest', () => {
    const m = parseManifest(json(ociManifest));
    assert.deepEqual(m, ociManifest);
  });

  it('reads a Docker schema 2 manifest', () => {
    const m = parseManifest(json(dockerManifest), MediaType.DockerManifest);
    assert.equal(m.mediaType, MediaType.DockerManifest);
    assert.equal(m.config.digest, CONFIG);
    assert.equal(m.layers[0]?.size, 32654);
  });

  it('reads an artifact with subject and embedded empty config', () => {
    const m = parseManifest(json(artifact));
    assert.equal(m.artifactType, 'application/vnd.example.sbom.v1+json');
    assert.equal(m.subject?.digest, AMD64);
    assert.equal(m.config.data, 'e30=');
  });

  it('takes the media type from the hint, Content-Type parameters and all', () => {
    const { mediaType: _, ...bare } = dockerManifest;
    assert.equal(
      parseManifest(json(bare), `${MediaType.DockerManifest}; charset=utf-8`).mediaType,
      MediaType.DockerManifest,
    );
    assert.equal(
      parseManifest(json(ociManifest), `${MediaType.OciManifest}; charset=utf-8`).mediaType,
      MediaType.OciManifest,
    );
  });

  it('infers an OCI manifest from `config` when nothing names the type', () => {
    const { mediaType: _, ...bare } = ociManifest;
    assert.equal(parseManifest(json(bare)).mediaType, MediaType.OciManifest);
    assert.equal(parseManifest(json(bare), 'application/octet-stream').mediaType, MediaType.OciManifest);
  });

  it('ignores unknown fields', () => {
    assert.deepEqual(parseManifest(json({ ...ociManifest, extra: [1, 2] })), ociManifest);
  });

  const layers = ociManifest.layers;
  const invalid: [string, Buffer, string | undefined, string | RegExp][] = [
    [
      'schema1',
      json(schema1),
      undefined,
      'parse manifest: Docker schema 1 manifests are not supported (deprecated since 2017; re-push the image)',
    ],
    [
      'schema1 hint',
      json({ ...dockerManifest, mediaType: undefined }),
      MediaType.DockerSchema1SignedManifest,
      /^parse manifest: Docker schema 1 manifests are not supported/,
    ],
    [
      'schemaVersion 3',
      json({ ...ociManifest, schemaVersion: 3 }),
      undefined,
      'parse manifest: schemaVersion: must be 2, got 3',
    ],
    [
      'schemaVersion string',
      json({ ...ociManifest, schemaVersion: '2' }),
      undefined,
      'parse manifest: schemaVersion: expected a number, got string',
    ],
    [
      'no schemaVersion',
      json({ ...ociManifest, schemaVersion: undefined }),
      undefined,
      'parse manifest: missing required field `schemaVersion`',
    ],
    [
      'field and hint disagree',
      json(ociManifest),
      MediaType.DockerManifest,
      `parse manifest: mediaType: \`${MediaType.OciManifest}\` does not match the expected media type \`${MediaType.DockerManifest}\``,
    ],
    [
      'an index',
      json(ociIndex),
      undefined,
      `parse manifest: got an index (${MediaType.OciIndex}), not a manifest`,
    ],
    [
      'an unknown type',
      json({ ...ociManifest, mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }),
      undefined,
      'parse manifest: mediaType: unsupported media type `application/vnd.oci.artifact.manifest.v1+json`',
    ],
    [
      'mediaType not a string',
      json({ ...ociManifest, mediaType: 2 }),
      undefined,
      'parse manifest: mediaType: expected a string, got number',
    ],
    [
      'too large',
      Buffer.alloc(MAX_METADATA_BYTES + 1, 0x20),
      undefined,
      'parse manifest: 4194305 bytes exceeds the limit of 4194304 bytes',
    ],
    ['not JSON', Buffer.from('{"schemaVersion": 2,'), undefined, /^parse manifest: invalid JSON: /],
    ['not an object', json([ociManifest]), undefined, 'parse manifest: expected an object, got array'],
    [
      'no config',
      json({ ...ociManifest, config: undefined }),
      MediaType.OciManifest,
      'parse manifest: missing required field `config`',
    ],
    [
      'no layers',
      json({ ...ociManifest, layers: undefined }),
      undefined,
      'parse manifest: missing required field `layers`',
    ],
    [
      'layers not an array',
      json({ ...ociManifest, layers: {} }),
      undefined,
      'parse manifest: layers: expected an array, got object',
    ],
    [
      'a bad layer digest',
      json({ ...ociManifest, layers: [layers[0], { ...layers[1], digest: 'sha256:zz' }] }),
      undefined,
      'parse manifest: layers[1].digest: invalid digest `sha256:zz`: encoded part must be hexadecimal',
    ],
    [
      'a negative size',
      json({ ...ociManifest, config: { ...ociManifest.config, size: -5 } }),
      undefined,
      'parse manifest: config.size: must be a non-negative integer, got `-5`',
    ],
    [
      'a fractional size',
      json({ ...ociManifest, layers: [{ ...layers[0], size: 10.5 }] }),
      undefined,
      'parse manifest: layers[0].size: must be a non-negative integer, got `10.5`',
    ],
    [
      'manifests in a manifest',
      json({ ...ociManifest, manifests: [] }),
      undefined,
      `parse manifest: a manifest (${MediaType.OciManifest}) must not have a \`manifests\` field`,
    ],
    [
      'nothing to infer from',
      json({ schemaVersion: 2, layers: [] }),
      undefined,
      'parse manifest: no mediaType, and neither `config` nor `manifests`: not a manifest or an index',
    ],
    [
      'bad annotations',
      json({ ...ociManifest, annotations: { a: 1 } }),
      undefined,
      'parse manifest: annotations.a: expected a string, got number',
    ],
    [
      'bad subject',
      json({ ...ociManifest, subject: { mediaType: MediaType.OciManifest, size: 1 } }),
      undefined,
      'parse manifest: subject: missing required field `digest`',
    ],
  ];
  for (const [name, bytes, hint, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseManifest(bytes, hint), { name: 'InvalidArgument', message });
    });
  }
});

describe('parseIndex', () => {
  it('reads an OCI index', () => {
    assert.deepEqual(parseIndex(json(ociIndex), MediaType.OciIndex), ociIndex);
  });

  it('reads a Docker manifest list', () => {
    const index = parseIndex(json(dockerList));
    assert.equal(index.mediaType, MediaType.DockerManifestList);
    assert.deepEqual(index.manifests[0]?.platform, { architecture: 'ppc64le', os: 'linux' });
  });

  it('infers an OCI index from `manifests`', () => {
    const { mediaType: _, ...bare } = ociIndex;
    assert.equal(parseIndex(json(bare)).mediaType, MediaType.OciIndex);
  });

  const invalid: [string, Buffer, string | undefined, string][] = [
    [
      'a manifest',
      json(ociManifest),
      undefined,
      `parse index: got a manifest (${MediaType.OciManifest}), not an index`,
    ],
    [
      'a hint that says manifest',
      json({ ...ociIndex, mediaType: undefined }),
      MediaType.OciManifest,
      `parse index: a manifest (${MediaType.OciManifest}) must not have a \`manifests\` field`,
    ],
    [
      'no manifests',
      json({ schemaVersion: 2, mediaType: MediaType.OciIndex }),
      undefined,
      'parse index: missing required field `manifests`',
    ],
    [
      'layers in an index',
      json({ ...ociIndex, layers: [] }),
      undefined,
      `parse index: an index (${MediaType.OciIndex}) must not have \`config\` or \`layers\` fields`,
    ],
    [
      'a platform without architecture',
      json({ ...ociIndex, manifests: [{ ...ociIndex.manifests[0], platform: { os: 'linux' } }] }),
      undefined,
      'parse index: manifests[0].platform: missing required field `architecture`',
    ],
    [
      'both config and manifests, untyped',
      json({ schemaVersion: 2, manifests: [], config: {} }),
      undefined,
      'parse index: no mediaType, and has both `manifests` and `config`',
    ],
  ];
  for (const [name, bytes, hint, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseIndex(bytes, hint), { name: 'InvalidArgument', message });
    });
  }
});

describe('parseManifestOrIndex', () => {
  it('tells the two apart', () => {
    const m = parseManifestOrIndex(json(dockerManifest));
    assert.equal(m.kind, 'manifest');
    const i = parseManifestOrIndex(json(dockerList), MediaType.DockerManifestList);
    assert.equal(i.kind, 'index');
    if (i.kind === 'index') assert.equal(i.index.manifests.length, 1);
  });

  it('rejects a non-Buffer', () => {
    assert.throws(() => parseManifestOrIndex('{}' as unknown as Buffer), {
      message: 'parse manifest: expected a Buffer, got string',
    });
  });
});
