import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf } from './digest.js';
import { validateDescriptor } from './descriptor.js';
import { MediaType } from './media-types.js';

const D = digestOf('layer');
const EMPTY_JSON_DIGEST = digestOf('{}');

describe('validateDescriptor', () => {
  it('keeps the known fields and drops the rest', () => {
    const value = {
      mediaType: MediaType.OciLayerGzip,
      digest: D,
      size: 5,
      urls: ['https://example.com/layer'],
      annotations: { 'org.opencontainers.image.title': 'x' },
      artifactType: 'application/vnd.example+json',
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
      unknownField: 1,
    };
    assert.deepEqual(validateDescriptor(value, 'layers[0]'), {
      mediaType: MediaType.OciLayerGzip,
      digest: D,
      size: 5,
      urls: ['https://example.com/layer'],
      annotations: { 'org.opencontainers.image.title': 'x' },
      artifactType: 'application/vnd.example+json',
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    });
  });

  it('accepts the empty descriptor with embedded data', () => {
    const value = { mediaType: MediaType.OciEmpty, digest: EMPTY_JSON_DIGEST, size: 2, data: 'e30=' };
    assert.deepEqual(validateDescriptor(value, 'config'), value);
  });

  it('treats null optional collections as absent', () => {
    assert.deepEqual(
      validateDescriptor({ mediaType: 'a/b', digest: D, size: 0, urls: null, annotations: null }, 'x'),
      {
        mediaType: 'a/b',
        digest: D,
        size: 0,
      },
    );
  });

  const base = { mediaType: MediaType.OciLayerGzip, digest: D, size: 5 };
  const invalid: [string, unknown, string][] = [
    ['not an object', 'sha256:…', 'layers[2]: expected an object, got string'],
    ['missing mediaType', { digest: D, size: 1 }, 'layers[2]: missing required field `mediaType`'],
    ['bad mediaType', { ...base, mediaType: 'gzip' }, 'layers[2].mediaType: invalid media type `gzip`'],
    ['missing digest', { mediaType: 'a/b', size: 1 }, 'layers[2]: missing required field `digest`'],
    [
      'bad digest',
      { ...base, digest: 'sha256:zz' },
      'layers[2].digest: invalid digest `sha256:zz`: encoded part must be hexadecimal',
    ],
    ['missing size', { mediaType: 'a/b', digest: D }, 'layers[2]: missing required field `size`'],
    ['negative size', { ...base, size: -1 }, 'layers[2].size: must be a non-negative integer, got `-1`'],
    ['fractional size', { ...base, size: 1.5 }, 'layers[2].size: must be a non-negative integer, got `1.5`'],
    ['string size', { ...base, size: '5' }, 'layers[2].size: expected a number, got string'],
    [
      'huge size',
      { ...base, size: 2 ** 60 },
      `layers[2].size: must be a non-negative integer, got \`${2 ** 60}\``,
    ],
    ['urls not strings', { ...base, urls: [1] }, 'layers[2].urls[0]: expected a string, got number'],
    ['url not a URL', { ...base, urls: ['not a url'] }, 'layers[2].urls[0]: invalid URL `not a url`'],
    [
      'annotation not a string',
      { ...base, annotations: { a: 1 } },
      'layers[2].annotations.a: expected a string, got number',
    ],
    [
      'platform without os',
      { ...base, platform: { architecture: 'amd64' } },
      'layers[2].platform: missing required field `os`',
    ],
    ['bad artifactType', { ...base, artifactType: 'x' }, 'layers[2].artifactType: invalid media type `x`'],
    ['data not base64', { ...base, data: '***' }, 'layers[2].data: must be standard base64'],
    ['data wrong size', { ...base, data: 'e30=' }, 'layers[2].data: decodes to 2 bytes but size is 5'],
    [
      'data wrong digest',
      { ...base, size: 2, data: 'e30=' },
      `layers[2].data: content has digest ${EMPTY_JSON_DIGEST}, not ${D}`,
    ],
  ];
  for (const [name, value, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => validateDescriptor(value, 'layers[2]'), { name: 'InvalidArgument', message });
    });
  }
});
