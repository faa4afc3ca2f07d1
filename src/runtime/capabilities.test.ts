import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  allCapabilities,
  capabilityMask,
  DEFAULT_CAPABILITIES,
  normalizeCapability,
  resolveCapabilities,
} from './capabilities.js';

test('the defaults are Podman’s CapEff 00000000a80425fb', () => {
  assert.equal(capabilityMask(DEFAULT_CAPABILITIES), '00000000a80425fb');
});

test('"all" is skiff’s own bounding set: this VM withholds CAP_SYS_RESOURCE (bit 24)', () => {
  const all = allCapabilities('Name:\tnode\nCapBnd:\t000001fffeffffff\n');
  assert.equal(all.length, 40);
  assert.ok(!all.includes('CAP_SYS_RESOURCE'));
  assert.equal(all.at(-1), 'CAP_CHECKPOINT_RESTORE');
  assert.equal(capabilityMask(all), '000001fffeffffff');
  assert.equal(allCapabilities('').length, 41, 'no /proc: every known capability');
});

test('a default skiff lacks is left out quietly; an explicit add it lacks is an error', () => {
  const all = DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD');
  assert.equal(resolveCapabilities({}, all).length, 13);
  assert.throws(() => resolveCapabilities({ capAdd: ['MKNOD'] }, all), { code: 'CAPABILITY_UNAVAILABLE' });
});

test('names', () => {
  assert.equal(normalizeCapability('net_admin'), 'CAP_NET_ADMIN');
  assert.equal(normalizeCapability(' CAP_SYS_ADMIN '), 'CAP_SYS_ADMIN');
  assert.equal(normalizeCapability('All'), 'ALL');
  assert.throws(() => normalizeCapability('CAP_'), {
    message: 'invalid capability `CAP_`: unknown capability',
  });
});
