import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cgroup, parseCgroupMounts, parseProcCgroup } from './cgroup.js';
import { parseBlkio, parseIoStat, parseKeyValues, parseNetDev } from './stats.js';

const HYBRID_MOUNTS = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_PROC = `8:pids:/skiff/abc
4:memory:/skiff/abc
2:cpuacct:/skiff/abc
1:cpu:/skiff/abc
9:name=systemd:/skiff/abc
0::/skiff/abc
`;

test('a hybrid host: v1 controllers from their hierarchies, the rest from the unified one', () => {
  const cgroup = new Cgroup(parseProcCgroup(HYBRID_PROC), parseCgroupMounts(HYBRID_MOUNTS));
  assert.equal(cgroup.dir('memory'), '/sys/fs/cgroup/memory/skiff/abc');
  assert.equal(cgroup.dir('cpuacct'), '/sys/fs/cgroup/cpuacct/skiff/abc');
  assert.equal(cgroup.unified('memory'), false);
  // blkio is not mounted in this list: the unified directory (with v2 file names) is used.
  assert.equal(cgroup.dir('blkio'), '/sys/fs/cgroup/unified/skiff/abc');
  assert.equal(cgroup.unified('blkio'), true);
});

test('a cgroup v2 host: one directory for every controller', () => {
  const cgroup = new Cgroup(
    parseProcCgroup('0::/system.slice/skiff/abc\n'),
    parseCgroupMounts('25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n'),
  );
  assert.equal(cgroup.dir('memory'), '/sys/fs/cgroup/system.slice/skiff/abc');
  assert.equal(cgroup.unified('cpuacct'), true);
});

test('net/dev counters by interface, loopback left out', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       5       1    0    0    0     0          0         0        5       1    0    0    0     0       0          0
  eth0:    3458      43    1    2    0     0          0         0      866      11    3    4    0     0       0          0
`;
  assert.deepEqual(parseNetDev(text), {
    eth0: {
      rxBytes: 3458,
      rxPackets: 43,
      rxErrors: 1,
      rxDropped: 2,
      txBytes: 866,
      txPackets: 11,
      txErrors: 3,
      txDropped: 4,
    },
  });
});

test('block I/O from v1 and v2 files; key-value files as numbers', () => {
  assert.deepEqual(parseBlkio('8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n'), [
    { major: 8, minor: 0, op: 'Read', value: 4096 },
    { major: 8, minor: 0, op: 'Write', value: 512 },
    { major: 8, minor: 0, op: 'Total', value: 4608 },
  ]);
  assert.deepEqual(parseIoStat('259:0 rbytes=100 wbytes=20 rios=3 wios=1 dbytes=0 dios=0\n'), [
    { major: 259, minor: 0, op: 'read', value: 100 },
    { major: 259, minor: 0, op: 'write', value: 20 },
  ]);
  assert.deepEqual(parseKeyValues('cache 16384\nrss 49152\nbogus\ntotal_inactive_file 8192\n'), {
    cache: 16384,
    rss: 49152,
    total_inactive_file: 8192,
  });
});
