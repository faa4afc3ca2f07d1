/** The event journal on a real SQLite database: appends, reads by time, follows another process. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openDatabase } from './database.js';
import { EventJournal, KEEP } from './events.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-events-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function journal(name: string): EventJournal {
  return new EventJournal(openDatabase(path.join(dir, `${name}.db`)));
}

test('events come back in order with their attributes; since and until select by time', () => {
  const j = journal('order');
  const a = j.record({ type: 'container', action: 'create', id: 'c1', attributes: { name: 'web' } });
  const b = j.record({ type: 'container', action: 'start', id: 'c1', attributes: { name: 'web' } });
  const c = j.record({ type: 'image', action: 'tag', id: 'sha256:1', attributes: { name: 'app:1' } });
  assert.deepEqual(
    j.read().map((e) => [e.seq, e.type, e.action, e.id, e.attributes.name]),
    [
      [a.seq, 'container', 'create', 'c1', 'web'],
      [b.seq, 'container', 'start', 'c1', 'web'],
      [c.seq, 'image', 'tag', 'sha256:1', 'app:1'],
    ],
  );
  assert.ok(a.timeNano <= b.timeNano && b.timeNano <= c.timeNano);
  assert.deepEqual(
    j.read({ sinceNano: b.timeNano, untilNano: b.timeNano }).map((e) => e.seq),
    [b.seq],
  );
  assert.deepEqual(
    j.read({ filter: (e) => e.type === 'image' }).map((e) => e.action),
    ['tag'],
  );
});

test('the journal keeps the newest KEEP events', () => {
  const j = journal('bounded');
  for (let i = 0; i < KEEP + 25; i++) j.record({ type: 'volume', action: 'create', id: `v${i}` });
  const all = j.read();
  assert.equal(all.length, KEEP);
  assert.equal(all[0]!.id, 'v25');
  assert.equal(all.at(-1)!.id, `v${KEEP + 24}`);
});

test('follow sees what another process appends, and stops when aborted', async () => {
  const j = journal('follow');
  j.record({ type: 'container', action: 'create', id: 'before' });
  const controller = new AbortController();
  const seen: string[] = [];
  const following = (async () => {
    for await (const e of j.follow({ signal: controller.signal, interval: 20 })) {
      seen.push(`${e.action} ${e.id}`);
      if (seen.length === 2) controller.abort();
    }
  })();
  // Another process writes to the same store, as `skiff run` does while `skiff events` follows.
  const eventsUrl = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'events.js')).href;
  const dbUrl = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'database.js')).href;
  const script = `
    const { EventJournal } = await import(${JSON.stringify(eventsUrl)});
    const { openDatabase } = await import(${JSON.stringify(dbUrl)});
    const j = new EventJournal(openDatabase(${JSON.stringify(path.join(dir, 'follow.db'))}));
    j.record({ type: 'container', action: 'start', id: 'other' });
    j.record({ type: 'container', action: 'die', id: 'other', attributes: { exitCode: '0' } });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  await following;
  assert.deepEqual(seen, ['start other', 'die other'], 'only events after the follow began');
});

test('follow with until ends by itself once the time has passed', async () => {
  const j = journal('until');
  const first = j.record({ type: 'network', action: 'create', id: 'n1' });
  const got = [];
  for await (const e of j.follow({ sinceNano: 0n, untilNano: first.timeNano, interval: 10 })) got.push(e.id);
  assert.deepEqual(got, ['n1']);
});
