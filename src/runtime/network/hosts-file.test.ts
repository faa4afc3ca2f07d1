import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderHosts, renderResolvConf, writeInPlace } from './hosts-file.js';

test('renderHosts: localhost, self first, others by address', () => {
  const text = renderHosts({ ip: '10.89.0.3', names: ['web-host', 'web', 'web'] }, [
    { ip: '10.89.0.10', names: ['cache'] },
    { ip: '10.89.0.2', names: ['db', 'database'] },
  ]);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], '127.0.0.1\tlocalhost');
  assert.deepEqual(lines.slice(-3), [
    '10.89.0.3\tweb-host web',
    '10.89.0.2\tdb database',
    '10.89.0.10\tcache',
  ]);
});

test('renderResolvConf drops loopback nameservers, keeps search and options', () => {
  const host =
    '# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\nsearch lan\noptions edns0\n';
  assert.equal(renderResolvConf(host), 'nameserver 10.255.255.53\nsearch lan\noptions edns0\n');
});

test('writeInPlace keeps the inode (the file is bind-mounted)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-hosts-'));
  const file = path.join(dir, 'hosts');
  writeInPlace(file, 'a much longer first version\n');
  const ino = fs.statSync(file).ino;
  writeInPlace(file, 'short\n');
  assert.equal(fs.statSync(file).ino, ino);
  assert.equal(fs.readFileSync(file, 'utf8'), 'short\n');
  fs.rmSync(dir, { recursive: true });
});
