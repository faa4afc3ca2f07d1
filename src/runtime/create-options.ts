/** The checks `create` makes of its options, so that bad ones fail before anything exists. */
import { InvalidArgument } from '../util/errors.js';
import { parseDuration } from '../util/duration.js';
import { parsePublish } from './network/index.js';
import { checkName, type CreateOptions } from './records.js';
import { parseCpus, parseMemory, parseUlimit } from './spec.js';
import { parseStorageOpt } from './storage-quota.js';
import { parseVolume } from './volumes.js';

export function validate(o: CreateOptions): void {
  if (o.memory !== undefined) parseMemory(o.memory);
  if (o.cpus !== undefined) parseCpus(o.cpus);
  for (const u of o.ulimits ?? []) parseUlimit(u);
  for (const p of o.publish ?? []) parsePublish(p);
  for (const v of o.volumes ?? []) parseVolume(v);
  parseStorageOpt(o.storageOpt);
  if (
    o.pidsLimit !== undefined &&
    (!Number.isInteger(o.pidsLimit) || o.pidsLimit < -1 || o.pidsLimit === 0)
  ) {
    throw new InvalidArgument(`invalid pids limit \`${o.pidsLimit}\``);
  }
  if (o.restart !== undefined && !/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(o.restart)) {
    throw new InvalidArgument(
      `invalid restart policy \`${o.restart}\` (no, always, unless-stopped, on-failure[:N])`,
    );
  }
  if (o.name !== undefined) checkName(o.name);
  if (o.healthInterval !== undefined) parseDuration(o.healthInterval, 'health-interval');
  if (o.healthTimeout !== undefined) parseDuration(o.healthTimeout, 'health-timeout');
  if (o.healthStartPeriod !== undefined) parseDuration(o.healthStartPeriod, 'health-start-period');
  if (o.healthRetries !== undefined && (!Number.isInteger(o.healthRetries) || o.healthRetries < 1)) {
    throw new InvalidArgument(`invalid health retries \`${o.healthRetries}\`: must be a positive integer`);
  }
}
