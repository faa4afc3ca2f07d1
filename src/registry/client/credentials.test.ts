/**
 * config.json and credential helpers, in a temporary DOCKER_CONFIG. The helper is a small shell
 * script speaking docker-credential-helpers' protocol and keeping its secrets in a file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configPath, eraseCredentials, getCredentials, storeCredentials } from './credentials.js';

let dir: string;
const saved = { DOCKER_CONFIG: process.env['DOCKER_CONFIG'], PATH: process.env['PATH'] };

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-creds-'));
  process.env['DOCKER_CONFIG'] = path.join(dir, 'docker');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const store = path.join(dir, 'helper-store');
  // get: print the stored JSON for the server read from stdin; store: keep stdin; erase: forget.
  fs.writeFileSync(
    path.join(bin, 'docker-credential-skifftest'),
    `#!/bin/sh
input=$(cat)
case "$1" in
  store) printf '%s' "$input" > ${store}; echo "store" >> ${store}.log ;;
  get) if [ -f ${store} ] && grep -q "\\"$input\\"" ${store}; then cat ${store}; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) if [ -f ${store} ]; then rm ${store}; else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
`,
    { mode: 0o755 },
  );
  process.env['PATH'] = `${bin}:${process.env['PATH']}`;
});

after(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('inline auths: stored base64, read back, erased; other fields kept', async () => {
  fs.mkdirSync(path.dirname(configPath()), { recursive: true });
  fs.writeFileSync(configPath(), JSON.stringify({ auths: {}, psFormat: 'table {{.ID}}' }));
  assert.equal(await getCredentials('reg.example:5000'), undefined);
  assert.equal(
    await storeCredentials('reg.example:5000', { username: 'alice', password: 'p:w' }),
    configPath(),
  );
  const file = JSON.parse(fs.readFileSync(configPath(), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(file['auths'], {
    'reg.example:5000': { auth: Buffer.from('alice:p:w').toString('base64') },
  });
  assert.equal(file['psFormat'], 'table {{.ID}}');
  assert.equal(fs.statSync(configPath()).mode & 0o777, 0o600);
  assert.deepEqual(await getCredentials('reg.example:5000'), { username: 'alice', password: 'p:w' });
  // Docker's older keys with a scheme and path name the same registry.
  fs.writeFileSync(
    configPath(),
    JSON.stringify({
      auths: { 'https://old.example/v1/': { auth: Buffer.from('bob:x').toString('base64') } },
    }),
  );
  assert.deepEqual(await getCredentials('old.example'), { username: 'bob', password: 'x' });
  assert.equal(await eraseCredentials('old.example'), true);
  assert.equal(await eraseCredentials('old.example'), false);
  assert.equal(await getCredentials('docker.io'), undefined);
});

test('credHelpers and credsStore: the helper stores, gets and erases', async () => {
  fs.writeFileSync(configPath(), JSON.stringify({ credHelpers: { 'helped.example': 'skifftest' } }));
  assert.equal(
    await storeCredentials('helped.example', { username: 'carol', password: 's3' }),
    'docker-credential-skifftest',
  );
  assert.deepEqual(await getCredentials('helped.example'), { username: 'carol', password: 's3' });
  const file = JSON.parse(fs.readFileSync(configPath(), 'utf8')) as Record<string, unknown>;
  assert.equal(file['auths'], undefined, 'no secret in config.json');
  assert.equal(await eraseCredentials('helped.example'), true);
  assert.equal(await getCredentials('helped.example'), undefined);

  fs.writeFileSync(configPath(), JSON.stringify({ credsStore: 'skifftest' }));
  await storeCredentials('docker.io', { username: 'dan', password: 'hub' });
  assert.match(
    fs.readFileSync(path.join(dir, 'helper-store'), 'utf8'),
    /"ServerURL":"https:\/\/index\.docker\.io\/v1\/"/,
  );
  assert.deepEqual(await getCredentials('docker.io'), { username: 'dan', password: 'hub' });

  fs.writeFileSync(configPath(), JSON.stringify({ credsStore: 'missing-helper' }));
  await assert.rejects(getCredentials('any.example'), /docker-credential-missing-helper`: not found on PATH/);
});
