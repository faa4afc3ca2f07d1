import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isIndexType,
  isLayerType,
  isManifestType,
  isNondistributableLayer,
  isSchema1Type,
  isValidMediaType,
  layerCompression,
  MediaType,
  mediaTypeOfContentType,
} from './media-types.js';

describe('media type classes', () => {
  const table: [string, { manifest?: true; index?: true; compression?: 'gzip' | 'zstd' | 'none' }][] = [
    [MediaType.OciManifest, { manifest: true }],
    [MediaType.DockerManifest, { manifest: true }],
    [MediaType.OciIndex, { index: true }],
    [MediaType.DockerManifestList, { index: true }],
    [MediaType.OciConfig, {}],
    [MediaType.DockerConfig, {}],
    [MediaType.OciEmpty, {}],
    [MediaType.OciLayer, { compression: 'none' }],
    [MediaType.OciLayerGzip, { compression: 'gzip' }],
    [MediaType.OciLayerZstd, { compression: 'zstd' }],
    [MediaType.OciLayerNondistributable, { compression: 'none' }],
    [MediaType.OciLayerNondistributableGzip, { compression: 'gzip' }],
    [MediaType.OciLayerNondistributableZstd, { compression: 'zstd' }],
    [MediaType.DockerLayer, { compression: 'none' }],
    [MediaType.DockerLayerGzip, { compression: 'gzip' }],
    [MediaType.DockerForeignLayer, { compression: 'gzip' }],
    [MediaType.DockerSchema1Manifest, {}],
    ['application/vnd.example.artifact+json', {}],
  ];
  for (const [mediaType, want] of table) {
    it(mediaType, () => {
      assert.equal(isManifestType(mediaType), want.manifest === true);
      assert.equal(isIndexType(mediaType), want.index === true);
      assert.equal(isLayerType(mediaType), want.compression !== undefined);
      assert.equal(layerCompression(mediaType), want.compression);
      assert.equal(isValidMediaType(mediaType), true);
    });
  }

  it('knows schema1 and non-distributable types', () => {
    assert.equal(isSchema1Type(MediaType.DockerSchema1SignedManifest), true);
    assert.equal(isSchema1Type(MediaType.DockerManifest), false);
    assert.equal(isNondistributableLayer(MediaType.DockerForeignLayer), true);
    assert.equal(isNondistributableLayer(MediaType.OciLayerGzip), false);
  });
});

describe('isValidMediaType', () => {
  for (const bad of [
    '',
    'application',
    'application/',
    '/json',
    'a/b/c',
    'text/plain; charset=utf-8',
    'a b/c',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.equal(isValidMediaType(bad), false));
  }
});

describe('mediaTypeOfContentType', () => {
  it('drops parameters and case', () => {
    assert.equal(mediaTypeOfContentType('Application/JSON; charset=utf-8'), 'application/json');
    assert.equal(mediaTypeOfContentType(` ${MediaType.OciIndex} `), MediaType.OciIndex);
  });
});
