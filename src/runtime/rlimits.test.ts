import { test } from 'node:test';
import assert from 'node:assert/strict';

import { hostRlimits, parseProcLimits, parseUlimit, specRlimits } from './rlimits.js';

/** This VM's /proc/self/limits, verbatim (hard nofile 20000: docs/host.md#rlimits). */
const VM_LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max data size             unlimited            unlimited            bytes     
Max stack size            8388608              unlimited            bytes     
Max core file size        0                    unlimited            bytes     
Max resident set          unlimited            unlimited            bytes     
Max processes             96364                96364                processes 
Max open files            20000                20000                files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
Max pending signals       96364                96364                signals   
Max msgqueue size         819200               819200               bytes     
Max nice priority         0                    0                    
Max realtime priority     0                    0                    
Max realtime timeout      unlimited            unlimited            us        
`;

test('/proc/self/limits is read by name, unlimited as Infinity', () => {
  const limits = parseProcLimits(VM_LIMITS);
  assert.equal(limits.size, 16);
  assert.deepEqual(limits.get('nofile'), { soft: 20000, hard: 20000 });
  assert.deepEqual(limits.get('stack'), { soft: 8388608, hard: Infinity });
  assert.deepEqual(limits.get('nice'), { soft: 0, hard: 0 });
  assert.deepEqual(limits.get('rttime'), { soft: Infinity, hard: Infinity });
});

test('the real host limits parse', () => {
  const nofile = hostRlimits().get('nofile');
  assert.ok(nofile && nofile.soft <= nofile.hard && nofile.hard > 0);
});

test('--ulimit values', () => {
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { type: 'nofile', soft: 1024, hard: 2048 });
  assert.deepEqual(parseUlimit('nproc=512'), { type: 'nproc', soft: 512, hard: 512 });
  assert.deepEqual(parseUlimit('core=-1'), { type: 'core', soft: Infinity, hard: Infinity });
  assert.deepEqual(parseUlimit('RLIMIT_MEMLOCK=0:unlimited'), { type: 'memlock', soft: 0, hard: Infinity });
  for (const [bad, why] of [
    ['nofile', /expected name=soft\[:hard\]/],
    ['fly=1', /unknown limit `fly`/],
    ['nofile=abc', /`abc` is not a non-negative integer/],
    ['nofile=-2', /`-2` is not a non-negative integer/],
    ['nofile=2048:1024', /soft limit must be less than or equal to hard limit: 2048 > 1024/],
    ['nofile=1:2:3', /too many values/],
  ] as const) {
    assert.throws(() => parseUlimit(bad), { name: 'InvalidArgument', message: why }, bad);
  }
});

test('every soft and hard limit is clamped to the caller’s hard limit', () => {
  const host = parseProcLimits(VM_LIMITS);
  assert.deepEqual(specRlimits([], host), [
    { type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 },
    { type: 'RLIMIT_NPROC', hard: 96364, soft: 96364 },
  ]);
  assert.deepEqual(
    specRlimits(
      [
        { type: 'nofile', soft: 30000, hard: 40000 },
        { type: 'memlock', soft: Infinity, hard: Infinity },
        { type: 'stack', soft: 1 << 20, hard: Infinity },
        { type: 'nproc', soft: 100, hard: 200 },
      ],
      host,
    ),
    [
      { type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 },
      { type: 'RLIMIT_NPROC', hard: 200, soft: 100 },
      { type: 'RLIMIT_MEMLOCK', hard: 8388608, soft: 8388608 },
      { type: 'RLIMIT_STACK', hard: Number.MAX_SAFE_INTEGER, soft: 1048576 },
    ],
  );
  // A host without the limit listed clamps nothing (and writes unlimited as 2^53-1).
  assert.deepEqual(specRlimits([], new Map()), [
    { type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 },
    { type: 'RLIMIT_NPROC', hard: 1048576, soft: 1048576 },
  ]);
});
