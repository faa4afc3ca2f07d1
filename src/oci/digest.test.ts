import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgument } from '../util/errors.js';
import { asDigest, createDigester, digestOf, isDigest, parseDigest, shortId } from './digest.js';

const HEX64 = 'a'.repeat(64);
const HEX128 = 'b'.repeat(128);
// sha256("") and sha512("abc"), from FIPS 180-2 and common knowledge.
const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC_SHA512 =
  'sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';

describe('parseDigest', () => {
  const valid: [string, string, string][] = [
    [`sha256:${HEX64}`, 'sha256', HEX64],
    [`sha512:${HEX128}`, 'sha512', HEX128],
    [EMPTY_SHA256, 'sha256', EMPTY_SHA256.slice(7)],
  ];
  for (const [input, algorithm, hex] of valid) {
    it(`accepts ${input.slice(0, 20)}…`, () => {
      assert.deepEqual(parseDigest(input), { algorithm, hex });
      assert.equal(isDigest(input), true);
    });
  }

  const invalid: [string, string][] = [
    ['', 'invalid digest ``: missing algorithm (expected "sha256:<hex>")'],
    [HEX64, `invalid digest \`${HEX64}\`: missing algorithm (expected "sha256:<hex>")`],
    ['sha256:zz', 'invalid digest `sha256:zz`: encoded part must be hexadecimal'],
    ['sha256:abc', 'invalid digest `sha256:abc`: sha256 needs 64 hex characters, got 3'],
    [
      `sha256:${HEX128}`,
      `invalid digest \`sha256:${HEX128.slice(0, 93)}…\`: sha256 needs 64 hex characters, got 128`,
    ],
    [`sha512:${HEX64}`, `invalid digest \`sha512:${HEX64}\`: sha512 needs 128 hex characters, got 64`],
    [`sha256:${'A'.repeat(64)}`, `invalid digest \`sha256:${'A'.repeat(64)}\`: hex must be lowercase`],
    [
      `SHA256:${HEX64}`,
      `invalid digest \`SHA256:${HEX64}\`: unsupported algorithm \`SHA256\` (expected sha256 or sha512)`,
    ],
    [
      `md5:${HEX64}`,
      `invalid digest \`md5:${HEX64}\`: unsupported algorithm \`md5\` (expected sha256 or sha512)`,
    ],
    [`sha256:${HEX64} `, `invalid digest \`sha256:${HEX64} \`: encoded part must be hexadecimal`],
    ['sha256:', 'invalid digest `sha256:`: sha256 needs 64 hex characters, got 0'],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input.slice(0, 20))}`, () => {
      assert.throws(() => parseDigest(input), { name: 'InvalidArgument', message });
      assert.equal(isDigest(input), false);
    });
  }

  it('rejects a non-string', () => {
    assert.throws(() => parseDigest(42 as unknown as string), {
      message: 'invalid digest: expected a string, got number',
    });
    assert.equal(isDigest(null as unknown as string), false);
  });
});

describe('asDigest', () => {
  it('names the field', () => {
    assert.throws(() => asDigest('sha256:zz', 'layers[2].digest'), {
      message: 'layers[2].digest: invalid digest `sha256:zz`: encoded part must be hexadecimal',
    });
    assert.throws(() => asDigest(7, 'config.digest'), {
      message: 'config.digest: expected a digest string, got number',
    });
  });
});

describe('digestOf', () => {
  it('hashes strings and buffers', () => {
    assert.equal(digestOf(''), EMPTY_SHA256);
    assert.equal(digestOf(Buffer.alloc(0)), EMPTY_SHA256);
    assert.equal(digestOf('abc', 'sha512'), ABC_SHA512);
  });
  it('refuses an unknown algorithm', () => {
    assert.throws(() => digestOf('x', 'md5' as 'sha256'), {
      message: 'compute digest: unsupported algorithm `md5`',
    });
  });
});

describe('createDigester', () => {
  it('hashes incrementally and counts bytes', () => {
    const d = createDigester('sha512');
    assert.equal(d.algorithm, 'sha512');
    d.update(Buffer.from('a'));
    d.update(Buffer.from('bc'));
    assert.equal(d.bytes, 3);
    assert.equal(d.digest(), ABC_SHA512);
    assert.equal(d.digest(), ABC_SHA512, 'digest() is repeatable');
  });
  it('defaults to sha256', () => {
    const d = createDigester();
    assert.equal(d.digest(), EMPTY_SHA256);
    assert.equal(d.bytes, 0);
  });
  it('refuses updates after digest()', () => {
    const d = createDigester();
    d.digest();
    assert.throws(() => d.update(Buffer.from('x')), {
      name: 'FailedPrecondition',
      message: `update digester: already finished at ${EMPTY_SHA256}`,
    });
  });
  it('refuses an unknown algorithm', () => {
    assert.throws(() => createDigester('sha1' as 'sha256'), InvalidArgument);
  });
});

describe('shortId', () => {
  it('is the first 12 hex characters', () => {
    assert.equal(shortId(EMPTY_SHA256), 'e3b0c44298fc');
    assert.equal(shortId(ABC_SHA512), 'ddaf35a19361');
  });
  it('rejects a non-digest', () => {
    assert.throws(() => shortId('abc'), { message: /^invalid digest `abc`/ });
  });
});
