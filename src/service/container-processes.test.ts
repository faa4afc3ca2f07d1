import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerStats } from '../engine.js';
import { dockerStats } from './container-processes.js';

const reading = (read: string, total: number, host: number): ContainerStats => ({
  read,
  cpu: { total, perCpu: [total / 2, total / 2], user: 10, system: 20, host, onlineCpus: 2 },
  memory: { usage: 4096, limit: 8192, stats: { total_inactive_file: 1024 } },
  pids: { current: 3, limit: 2048 },
  networks: {
    eth0: {
      rxBytes: 1,
      rxPackets: 2,
      rxErrors: 0,
      rxDropped: 0,
      txBytes: 3,
      txPackets: 4,
      txErrors: 0,
      txDropped: 0,
    },
  },
  blkio: [{ major: 8, minor: 0, op: 'Read', value: 512 }],
});

test('stats in dockerd’s shape: "/name", this reading and the one before', () => {
  const shaped = dockerStats(
    { id: 'abc', name: 'web' },
    reading('2026-01-01T00:00:01Z', 300, 2000),
    reading('2026-01-01T00:00:00Z', 100, 1000),
  );
  assert.equal(shaped['name'], '/web');
  assert.equal(shaped['id'], 'abc');
  assert.equal(shaped['read'], '2026-01-01T00:00:01Z');
  assert.equal(shaped['preread'], '2026-01-01T00:00:00Z');
  assert.deepEqual(shaped['cpu_stats'], {
    cpu_usage: { total_usage: 300, percpu_usage: [150, 150], usage_in_kernelmode: 20, usage_in_usermode: 10 },
    system_cpu_usage: 2000,
    online_cpus: 2,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  });
  assert.equal((shaped['precpu_stats'] as { system_cpu_usage: number }).system_cpu_usage, 1000);
  assert.deepEqual(shaped['memory_stats'], {
    usage: 4096,
    stats: { total_inactive_file: 1024 },
    limit: 8192,
  });
  assert.deepEqual(shaped['pids_stats'], { current: 3, limit: 2048 });
  assert.deepEqual((shaped['networks'] as Record<string, unknown>)['eth0'], {
    rx_bytes: 1,
    rx_packets: 2,
    rx_errors: 0,
    rx_dropped: 0,
    tx_bytes: 3,
    tx_packets: 4,
    tx_errors: 0,
    tx_dropped: 0,
  });
  assert.deepEqual(
    (shaped['blkio_stats'] as { io_service_bytes_recursive: unknown }).io_service_bytes_recursive,
    [{ major: 8, minor: 0, op: 'Read', value: 512 }],
  );
});

test('a container that is not running: dockerd’s empty reading, zero times', () => {
  const shaped = dockerStats({ id: 'abc', name: 'web' }, undefined, undefined);
  assert.equal(shaped['read'], '0001-01-01T00:00:00Z');
  assert.equal(shaped['name'], '/web');
  assert.equal('networks' in shaped, false);
  assert.equal((shaped['cpu_stats'] as { online_cpus: number }).online_cpus, 0);
});
