import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgument } from '../util/errors.js';
import {
  asNonNegativeInteger,
  asObject,
  asObjectMap,
  asStringArray,
  asStringMap,
  at,
  optional,
  parseJson,
  quote,
  required,
  withContext,
} from './fields.js';

describe('quote', () => {
  it('backticks and truncates', () => {
    assert.equal(quote('abc'), '`abc`');
    assert.equal(quote(-1), '`-1`');
    assert.equal(quote(undefined), '`undefined`');
    assert.equal(quote('x'.repeat(150)), '`' + 'x'.repeat(100) + '…`');
  });
});

describe('at', () => {
  it('builds paths', () => {
    assert.equal(at('', 'config'), 'config');
    assert.equal(at('layers', 2), 'layers[2]');
    assert.equal(at('layers[2]', 'digest'), 'layers[2].digest');
  });
});

describe('readers', () => {
  const cases: [string, () => unknown, string][] = [
    ['object', () => asObject([], 'config'), 'config: expected an object, got array'],
    ['object at root', () => asObject(null, ''), 'expected an object, got null'],
    ['integer', () => asNonNegativeInteger(-1, 'size'), 'size: must be a non-negative integer, got `-1`'],
    ['fraction', () => asNonNegativeInteger(1.5, 'size'), 'size: must be a non-negative integer, got `1.5`'],
    ['number type', () => asNonNegativeInteger('3', 'size'), 'size: expected a number, got string'],
    ['string array', () => asStringArray(['a', 1], 'Env'), 'Env[1]: expected a string, got number'],
    [
      'string map',
      () => asStringMap({ a: 'b', c: true }, 'Labels'),
      'Labels.c: expected a string, got boolean',
    ],
    [
      'object map',
      () => asObjectMap({ '80/tcp': 'x' }, 'ExposedPorts'),
      'ExposedPorts.80/tcp: expected an object, got string',
    ],
    [
      'required',
      () => required({}, 'digest', 'layers[0]', asStringArray),
      'layers[0]: missing required field `digest`',
    ],
  ];
  for (const [name, fn, message] of cases) {
    it(`reports ${name}`, () => assert.throws(fn, { name: 'InvalidArgument', message }));
  }

  it('optional treats null as absent only when asked', () => {
    assert.equal(optional({ a: null }, 'a', '', asStringArray, { nullIsAbsent: true }), undefined);
    assert.throws(() => optional({ a: null }, 'a', 'x', asStringArray), {
      message: 'x.a: expected an array, got null',
    });
    assert.deepEqual(optional({ a: ['1'] }, 'a', '', asStringArray), ['1']);
  });
});

describe('parseJson and withContext', () => {
  it('prefixes errors and keeps the cause', () => {
    assert.throws(
      () => withContext('parse manifest', () => parseJson(Buffer.from('{'))),
      (e: unknown) =>
        e instanceof InvalidArgument &&
        /^parse manifest: invalid JSON: /.test(e.message) &&
        e.cause instanceof InvalidArgument,
    );
  });
  it('leaves other errors alone', () => {
    assert.throws(
      () =>
        withContext('x', () => {
          throw new TypeError('boom');
        }),
      { name: 'TypeError', message: 'boom' },
    );
  });
});
