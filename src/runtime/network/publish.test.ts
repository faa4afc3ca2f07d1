import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMapping, parsePublish } from './publish.js';
import { InvalidArgument } from '../../util/errors.js';

test('parsePublish: the Docker -p forms', () => {
  assert.deepEqual(parsePublish('8080:80'), [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), [
    { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' },
  ]);
  assert.deepEqual(parsePublish('80'), [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(parsePublish('127.0.0.1::53/udp'), [
    { hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, protocol: 'udp' },
  ]);
  assert.deepEqual(parsePublish('0.0.0.0:80:80/TCP'), [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(parsePublish('8000-8001:80-81'), [
    { hostPort: 8000, containerPort: 80, protocol: 'tcp' },
    { hostPort: 8001, containerPort: 81, protocol: 'tcp' },
  ]);
  assert.deepEqual(parsePublish('80-81'), [
    { hostPort: 0, containerPort: 80, protocol: 'tcp' },
    { hostPort: 0, containerPort: 81, protocol: 'tcp' },
  ]);
});

test('parsePublish: bad input names the spec and the cause', () => {
  const cases: [string, RegExp][] = [
    ['99999:80', /^invalid publish `99999:80`: port out of range$/],
    ['80:0', /port out of range/],
    ['80:70000', /port out of range/],
    ['abc', /bad port `abc`/],
    ['80/sctp', /unsupported protocol `sctp`/],
    ['[::1]:80:80', /IPv6/],
    ['1.2.3:80:80', /invalid host address/],
    ['8000-8002:80-81', /differ in length/],
    ['8000:80-81', /needs a host port range/],
    ['81-80', /bad port range/],
    [':80', /empty host port/],
    ['', /bad port/],
  ];
  for (const [spec, message] of cases) {
    assert.throws(
      () => parsePublish(spec),
      (err: unknown) => err instanceof InvalidArgument && message.test(err.message),
      spec,
    );
  }
});

test('formatMapping reads like docker ps', () => {
  assert.equal(formatMapping({ hostPort: 8080, containerPort: 80, protocol: 'tcp' }), '0.0.0.0:8080->80/tcp');
});
