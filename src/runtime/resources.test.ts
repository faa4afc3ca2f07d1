import { test } from 'node:test';
import assert from 'node:assert/strict';

import { linuxResources, parseCpus, parseMemory } from './resources.js';

test('--memory sizes, binary units as Docker', () => {
  const table: [string, number][] = [
    ['1024', 1024],
    ['512k', 512 * 1024],
    ['256m', 256 * 1024 ** 2],
    ['256M', 256 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64MiB', 64 * 1024 ** 2],
    ['64mb', 64 * 1024 ** 2],
    ['10b', 10],
    ['0', 0],
  ];
  for (const [s, want] of table) assert.equal(parseMemory(s), want, s);
  for (const bad of ['abc', '-1', '', 'm', '1.2.3', '1x', '1 gigabyte', '0x10']) {
    assert.throws(
      () => parseMemory(bad),
      { name: 'InvalidArgument', message: new RegExp(`^invalid memory \`${bad.replace('.', '\\.')}\``) },
      bad,
    );
  }
  assert.equal(parseMemory('-1', { allowUnlimited: true }), -1);
});

test('--cpus', () => {
  assert.equal(parseCpus('0.5', { cpuCount: 2 }), 0.5);
  assert.equal(parseCpus('2', { cpuCount: 2 }), 2);
  assert.equal(parseCpus('.25', { cpuCount: 2 }), 0.25);
  for (const bad of ['abc', '-1', '0', '0.001', '3', '1e3', '']) {
    assert.throws(
      () => parseCpus(bad, { cpuCount: 2 }),
      { name: 'InvalidArgument', message: /^invalid cpus `/ },
      bad,
    );
  }
  assert.throws(() => parseCpus('3', { cpuCount: 2 }), {
    message: 'invalid cpus `3`: range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available',
  });
});

test('memory and swap: twice by default, -1 unlimited, never below memory, 6MB minimum', () => {
  const mem = (memory?: number, memorySwap?: number, swapSupported = true) =>
    linuxResources({ memory, memorySwap }, { swapSupported }).memory;
  assert.deepEqual(mem(64 << 20), { limit: 64 << 20, swap: 128 << 20 });
  assert.deepEqual(mem(64 << 20, -1), { limit: 64 << 20, swap: -1 });
  assert.deepEqual(mem(64 << 20, 64 << 20), { limit: 64 << 20, swap: 64 << 20 });
  assert.deepEqual(mem(64 << 20, undefined, false), { limit: 64 << 20 });
  assert.equal(mem(undefined), undefined);
  assert.equal(mem(0), undefined);
  assert.throws(() => mem(64 << 20, 32 << 20), { message: /must be at least the memory limit/ });
  assert.throws(() => mem(1 << 20), { message: /minimum memory limit allowed is 6MB/ });
  assert.throws(() => mem(undefined, 64 << 20), { message: /set --memory too/ });
});

test('cpu and pids', () => {
  assert.deepEqual(linuxResources({ cpus: 1.5 }).cpu, { quota: 150000, period: 100000 });
  assert.deepEqual(linuxResources({ cpuShares: 1024 }).cpu, { shares: 1024 });
  assert.throws(() => linuxResources({ cpuShares: 1 }), { message: /from 2 to 262144/ });
  assert.deepEqual(linuxResources({}).pids, { limit: 2048 });
  assert.equal(linuxResources({ pidsLimit: -1 }).pids, undefined);
  assert.deepEqual(linuxResources({}).devices, [{ allow: false, access: 'rwm' }]);
});
