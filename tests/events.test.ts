/**
 * `skiff events`: what one skiff process does, another reads from the store's journal — past
 * events with --since/--until, and new ones followed as they happen — with Docker's filters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SKIFF_BIN, busyboxTar, makeSandbox, oneLineError, start, waitFor, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

interface EventJson {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

function parse(stdout: string): EventJson[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as EventJson);
}

describe('skiff events', { skip: needs('root') }, () => {
  let s: Sandbox;
  before(() => {
    s = makeSandbox('skiff-events-');
  });
  after(() => s.cleanup());

  it('lists what import, tag and rmi recorded, between --since and --until', async () => {
    const started = Math.floor(Date.now() / 1000) - 1;
    await s.ok(['import', busyboxTar(), 'ev/base:1']);
    await s.ok(['tag', 'ev/base:1', 'ev/base:2']);
    await s.ok(['rmi', 'ev/base:2']);
    const until = Math.ceil(Date.now() / 1000) + 1;
    const r = await s.ok([
      'events',
      '--since',
      String(started),
      '--until',
      String(until),
      '--format',
      'json',
    ]);
    const events = parse(r.stdout);
    assert.deepEqual(
      events.map((e) => `${e.Type} ${e.Action} ${e.Actor.Attributes.name ?? ''}`),
      ['image import ev/base:1', 'image tag ev/base:2', 'image untag ev/base:2'],
    );
    assert.ok(events.every((e) => e.time >= started && e.time <= until));
    const text = await s.ok([
      'events',
      '--since',
      String(started),
      '--until',
      String(until),
      '-f',
      'event=tag',
    ]);
    assert.match(
      text.stdout,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z image tag sha256:[0-9a-f]{64} \(name=ev\/base:2\)\n$/,
    );
  });

  it('follows events another process records, from the moment it starts', async (t) => {
    const follower = start(process.execPath, [
      '--',
      SKIFF_BIN,
      '--root',
      s.root,
      'events',
      '--filter',
      'type=image',
      '--format',
      'json',
    ]);
    t.after(() => follower.child.kill('SIGKILL'));
    let out = '';
    follower.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // The follower reads only what comes after it started: tag until it has seen one.
    const seen = await waitFor('the follower to see a tag made by another process', async () => {
      await s.ok(['tag', 'ev/base:1', 'ev/base:followed']);
      return parse(out).find((e) => e.Action === 'tag');
    });
    assert.equal(seen.Actor.Attributes.name, 'ev/base:followed');
    follower.child.kill('SIGTERM');
    const done = await follower.done;
    assert.equal(done.code, 0, done.stderr);
  });

  it(
    'a container’s life: create, start, die (with its exit code, recorded by its exit command), destroy',
    { skip: needs('crun', 'conmon') },
    async () => {
      const since = Math.floor(Date.now() / 1000) - 1;
      const id = (
        await s.ok([
          'run',
          '-d',
          '--name',
          'ev-life',
          '--label',
          'team=core',
          'ev/base:1',
          'sh',
          '-c',
          'exit 3',
        ])
      ).stdout.trim();
      const actions = async () => {
        const until = Math.ceil(Date.now() / 1000) + 1;
        const r = await s.ok([
          'events',
          '--since',
          String(since),
          '--until',
          String(until),
          '--format',
          'json',
          '-f',
          `container=ev-life`,
        ]);
        return parse(r.stdout);
      };
      // The die event comes from conmon's exit command, a process of its own.
      await waitFor('the die event', async () =>
        (await actions()).some((e) => e.Action === 'die') ? true : undefined,
      );
      await s.ok(['rm', 'ev-life']);
      const events = await actions();
      assert.deepEqual(
        events.map((e) => e.Action),
        ['create', 'start', 'die', 'destroy'],
      );
      assert.ok(events.every((e) => e.Actor.ID === id && e.Actor.Attributes.name === 'ev-life'));
      assert.equal(events[2]!.Actor.Attributes.exitCode, '3');
      assert.equal(events[0]!.Actor.Attributes.team, 'core');
      assert.equal(events[0]!.Actor.Attributes.image, 'ev/base:1');
    },
  );

  it(
    'a change of health is a `health_status` event, written by the supervisor',
    { skip: needs('crun', 'conmon') },
    async () => {
      const since = Math.floor(Date.now() / 1000) - 1;
      await s.ok(
        ['run', '-d', '--name', 'ev-health', '--health-cmd', 'true', '--health-interval', '1s'].concat([
          'ev/base:1',
          'sleep',
          '300',
        ]),
      );
      const healthEvents = async () => {
        const until = Math.ceil(Date.now() / 1000) + 1;
        const r = await s.ok(
          ['events', '--since', String(since), '--until', String(until)].concat([
            '--format',
            'json',
            '-f',
            'container=ev-health',
          ]),
        );
        return parse(r.stdout).filter((e) => e.Action.startsWith('health_status'));
      };
      await waitFor('the health_status event', async () =>
        (await healthEvents()).length > 0 ? true : undefined,
      );
      assert.deepEqual(
        (await healthEvents()).map((e) => e.Action),
        ['health_status: healthy'],
      );
      await s.ok(['rm', '-f', 'ev-health']);
    },
  );

  it('a bad time or filter is one line and exit 1', async () => {
    const time = await s.skiff(['events', '--since', 'yesterday']);
    assert.equal(time.code, 1);
    assert.match(oneLineError(time.stderr), /invalid value `yesterday` for since/);
    const filter = await s.skiff(['events', '--until', '1', '-f', 'colour=red']);
    assert.equal(filter.code, 1);
    assert.match(oneLineError(filter.stderr), /unknown filter `colour`/);
  });
});
