/**
 * The warm previous release (`skiff deploy --keep-warm`): after a switch the old release keeps
 * running, drained, for a window; a rollback inside it is only a proxy switch (no container
 * starts), `--keep-warm 0` stops the old release at once, and once the window has passed the
 * per-host supervisor stops it, so a rollback starts containers as before. Real HAProxy, real
 * containers; no timing assertions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { discardRoot } from './container-testing.js';
import { appImage, get, steadyLoad, type Sample } from './deploy-testing.js';
import { busyboxTar, freePort, makeSandbox, waitFor, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

interface PsRow {
  name: string;
  state: string;
  started: string | null;
}

interface ServerJson {
  name: string;
  state: string;
}

interface ServiceJson {
  name: string;
  release: number | null;
  servers: ServerJson[];
  warm?: { release: number; until: string; servers: ServerJson[] };
}

interface ReleaseJson {
  number: number;
  status: string;
  warmUntil: string | null;
}

describe('deploy --keep-warm', { skip: needs('root', 'crun', 'conmon', 'ip', 'nft', 'haproxy') }, () => {
  let s: Sandbox;

  before(async () => {
    s = makeSandbox('skiff-deploy-warm-');
    await s.ok(['import', busyboxTar(), 'base:1']);
    for (const v of ['v1', 'v2']) await appImage(s, `app:${v}`, `${v}\n`);
  });
  after(() => discardRoot(s));

  async function deploy(service: string, image: string, port: number, ...more: string[]) {
    const r = await s.skiff([
      'deploy',
      service,
      image,
      '--replicas',
      '2',
      '--port',
      `127.0.0.1:${port}:8080`,
      '--health',
      '/up',
      '--health-timeout',
      '10s',
      '--drain',
      '2s',
      ...more,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return r;
  }

  /** The replicas of one release, by name. */
  async function replicas(service: string, release: number): Promise<PsRow[]> {
    const rows = JSON.parse((await s.ok(['ps', '-a', '--format', 'json'])).stdout) as PsRow[];
    return rows
      .filter((r) => r.name.startsWith(`${service}-${release}-`))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async function service(name: string): Promise<ServiceJson> {
    const all = JSON.parse((await s.ok(['services', '--format', 'json'])).stdout) as ServiceJson[];
    return all.find((x) => x.name === name)!;
  }

  async function release(name: string, number: number): Promise<ReleaseJson> {
    const all = JSON.parse((await s.ok(['releases', name, '--format', 'json'])).stdout) as ReleaseJson[];
    return all.find((r) => r.number === number)!;
  }

  /** Waits (on the clock of the requests, not a sleep) until the load has made `n` more requests. */
  async function requestsMore(samples: Sample[], n: number): Promise<void> {
    const from = samples.length;
    await waitFor(`${n} more requests`, () => (samples.length >= from + n ? true : undefined), {
      timeout: 30_000,
    });
  }

  it('default window: v1 runs on drained, gets no traffic; rollback is a switch with no start and no failed request', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    await deploy('web', 'app:v1', port);
    const v2 = await deploy('web', 'app:v2', port);
    assert.match(v2.stdout, /release 1 stays warm \(running, drained\) until /);
    assert.doesNotMatch(v2.stdout, /stopping release 1/);

    const warm = await replicas('web', 1);
    assert.deepEqual(
      warm.map((r) => r.state),
      ['running', 'running'],
      'v1 still runs',
    );
    const status = await service('web');
    assert.equal(status.release, 2);
    assert.equal(status.warm?.release, 1);
    assert.deepEqual(
      status.warm.servers.map((v) => [v.name, v.state]),
      [
        ['web-1-1', 'drain'],
        ['web-1-2', 'drain'],
      ],
      'v1 servers stay in the backend, drained',
    );
    const row = await release('web', 1);
    assert.equal(row.status, 'warm');
    assert.ok(row.warmUntil && Date.parse(row.warmUntil) > Date.now(), `warm until ${row.warmUntil}`);
    assert.match(
      (await s.ok(['releases', 'web'])).stdout,
      /^release 1 \(warm: running, drained, until .+, in \d+ (min|s)\)$/m,
    );

    // Drained: no request reaches v1.
    const load = steadyLoad(url, 3);
    await requestsMore(load.samples, 200);
    const beforeRollback = load.samples.length;
    assert.deepEqual(
      [...new Set(load.samples.slice(0, beforeRollback).map((x) => x.body ?? x.error))],
      ['v2\n'],
      'only v2 answers while v1 is warm',
    );

    const rollbackAt = performance.now();
    const rb = await s.skiff(['rollback', 'web']);
    const rollbackDone = performance.now();
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /release 1 is running \(warm\): switching traffic, no container to start/);
    await requestsMore(load.samples, 200);
    const samples = await load.stop();
    const failed = samples.filter((x) => x.error !== undefined);
    assert.equal(failed.length, 0, `${failed.length} of ${samples.length} failed: ${failed[0]?.error}`);
    const afterRollback = samples.filter((x) => x.start > rollbackDone);
    assert.ok(afterRollback.length > 0);
    assert.deepEqual(
      [...new Set(afterRollback.map((x) => x.body))],
      ['v1\n'],
      'traffic on v1 after the rollback',
    );
    assert.ok(
      samples.some((x) => x.start > rollbackAt && x.body === 'v1\n'),
      'v1 answered requests sent after the rollback began',
    );

    // No container was started: v1's replicas run since before the rollback.
    assert.deepEqual(
      (await replicas('web', 1)).map((r) => [r.state, r.started]),
      warm.map((r) => ['running', r.started]),
    );
    // The release switched away from (v2) is now the warm one.
    assert.deepEqual(
      (await replicas('web', 2)).map((r) => r.state),
      ['running', 'running'],
    );
    assert.equal((await release('web', 2)).status, 'warm');
    assert.equal(await get(url), 'v1\n');
  });

  it('--keep-warm 0: the old release stops at once, as before, and says what it waits for', async () => {
    const port = await freePort();
    await deploy('cold', 'app:v1', port);
    const r = await deploy('cold', 'app:v2', port, '--keep-warm', '0');
    assert.match(r.stdout, /stopping release 1 \(stop timeout 10 s\)…/);
    assert.deepEqual(
      (await replicas('cold', 1)).map((x) => x.state),
      ['exited', 'exited'],
    );
    const row = await release('cold', 1);
    assert.equal(row.status, 'stopped');
    assert.equal(row.warmUntil, null);
    assert.equal((await service('cold')).warm, undefined);
    assert.equal(await get(`http://127.0.0.1:${port}/`), 'v2\n');
    await s.ok(['service', 'rm', 'cold']);
  });

  it('a window that has passed: the supervisor stops the warm release; a rollback starts it as before', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    await deploy('brief', 'app:v1', port);
    await deploy('brief', 'app:v2', port, '--keep-warm', '2s');
    const warm = await replicas('brief', 1);
    assert.equal((await release('brief', 1)).status, 'warm');
    // Nobody runs skiff for this service meanwhile: the per-host supervisor ends the window.
    await waitFor(
      'the warm release to be stopped',
      async () => {
        const states = (await replicas('brief', 1)).map((x) => x.state);
        return states.every((x) => x === 'exited') ? states : undefined;
      },
      { timeout: 60_000, interval: 200 },
    );
    assert.equal((await release('brief', 1)).status, 'stopped');
    const status = await service('brief');
    assert.equal(status.warm, undefined);
    assert.equal(await get(url), 'v2\n');

    const rb = await s.skiff(['rollback', 'brief']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /starting 2 replicas of release 1/);
    const started = await replicas('brief', 1);
    assert.deepEqual(
      started.map((x) => x.state),
      ['running', 'running'],
    );
    started.forEach((x, i) => assert.notEqual(x.started, warm[i]!.started, `${x.name} was started again`));
    assert.equal(await get(url), 'v1\n');
    await s.ok(['service', 'rm', 'brief']);
  });
});
