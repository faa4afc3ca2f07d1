/**
 * `--format` takes the names a verb lists and nothing else: a Go template (`{{.ID}}`, as a
 * docker script would pass) or a typo is a usage error naming the value, never the default
 * output printed as if it had been asked for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeSandbox, oneLineError, type Sandbox } from './helpers.js';

const TEMPLATE = '{{.ID}}';

/** Each verb that prints in more than one way, with what it needs besides --format. */
const VERBS: string[][] = [
  ['ps'],
  ['stats', '--no-stream'],
  ['images'],
  ['history', 'some:image'],
  ['inspect', 'some:image'],
  ['network', 'ls'],
  ['volume', 'ls'],
  ['releases', 'web'],
  ['diff', 'web', '1', '2'],
  ['services'],
  ['system', 'check'],
  ['system', 'info'],
  ['system', 'df'],
  ['events'],
];

describe('--format', () => {
  let s: Sandbox;
  before(() => {
    s = makeSandbox('skiff-format-');
  });
  after(() => s.cleanup());

  for (const verb of VERBS) {
    it(`${verb.join(' ')} --format ${TEMPLATE}: a usage error naming it`, async () => {
      const r = await s.skiff([...verb, '--format', TEMPLATE]);
      assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const line = oneLineError(r.stderr);
      assert.ok(line.includes(`unknown --format \`${TEMPLATE}\``), line);
      assert.match(line, /json/);
      assert.match(line, /Go templates are not supported/);
    });
  }

  it('a typo is refused the same way; json and the default output by name still work', async () => {
    const typo = await s.skiff(['ps', '--format', 'jsno']);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(oneLineError(typo.stderr), /^Error: ps: unknown --format `jsno` \(table or json; /);
    assert.deepEqual(JSON.parse((await s.ok(['ps', '-a', '--format', 'json'])).stdout), []);
    assert.match((await s.ok(['ps', '--format', 'table'])).stdout, /^CONTAINER ID/);
    assert.deepEqual(JSON.parse((await s.ok(['images', '--format', 'json'])).stdout), []);
    assert.match((await s.ok(['system', 'info', '--format', 'text'])).stdout, /^store:/);
  });

  it('registry gc and save name their own choices', async () => {
    const gc = await s.skiff(['registry', 'gc', '--root', s.dir, '--format', TEMPLATE]);
    assert.equal(gc.code, 2, gc.stderr);
    assert.match(oneLineError(gc.stderr), /unknown --format `\{\{\.ID\}\}` \(text or json; /);
    const save = await s.skiff(['save', '--format', 'tar', '-o', `${s.dir}/x.tar`, 'some:image']);
    assert.equal(save.code, 2, save.stderr);
    assert.match(oneLineError(save.stderr), /save: unknown --format `tar` \(oci-archive or docker-archive\)/);
  });
});
