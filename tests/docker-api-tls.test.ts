/**
 * `skiff system service tcp://…`: TCP only with TLS and client certificates. The docker CLI
 * with a certificate the CA signed is served; without one, or without TLS, it is refused
 * before any request; and a tcp:// address without the three files is a usage error.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discardRoot } from './container-testing.js';
import { SKIFF_BIN, freePort, makeSandbox, run, start, waitFor, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in docker's file names. */
function makeCertificates(dir: string): void {
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'].concat([
      '-subj',
      '/CN=skiff test CA',
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
    ]),
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    fs.writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
    ssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        `/CN=${name}`,
      ].concat(['-keyout', `${name}-key.pem`, '-out', `${name}.csr`]),
    );
    ssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca-key.pem',
        '-CAcreateserial',
      ].concat(['-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]),
    );
  }
  // The docker CLI looks for these names in --tlsverify's cert path.
  fs.copyFileSync(path.join(dir, 'client.pem'), path.join(dir, 'cert.pem'));
  fs.copyFileSync(path.join(dir, 'client-key.pem'), path.join(dir, 'key.pem'));
}

describe('skiff system service on TCP', { skip: needs('root', 'docker', 'openssl') }, () => {
  let s: Sandbox;
  let certs: string;
  let url: string;
  let service: ReturnType<typeof start>;
  const docker = (args: string[], env: Record<string, string> = {}) =>
    run('docker', args, {
      env: { DOCKER_CONFIG: path.join(s.dir, 'docker-config'), ...env },
      timeout: 30_000,
    });

  before(async () => {
    s = makeSandbox('skiff-tls-');
    certs = path.join(s.dir, 'certs');
    fs.mkdirSync(certs);
    fs.mkdirSync(path.join(s.dir, 'docker-config'));
    makeCertificates(certs);
    url = `tcp://127.0.0.1:${await freePort()}`;
    const tls = ['--tls-cert', 'server.pem', '--tls-key', 'server-key.pem', '--tls-ca', 'ca.pem'];
    service = start(process.execPath, [
      '--',
      SKIFF_BIN,
      '--root',
      s.root,
      'system',
      'service',
      url,
      ...tls.map((a) => (a.endsWith('.pem') ? path.join(certs, a) : a)),
    ]);
    await waitFor(
      'the service to listen',
      async () => {
        const r = await docker([
          '-H',
          url,
          '--tlsverify',
          '--tlscacert',
          path.join(certs, 'ca.pem'),
          '--tlscert',
          path.join(certs, 'cert.pem'),
          '--tlskey',
          path.join(certs, 'key.pem'),
          'version',
        ]);
        return r.code === 0 ? true : undefined;
      },
      { timeout: 30_000 },
    );
  });

  after(async () => {
    if (service?.child.exitCode === null) service.child.kill('SIGTERM');
    await service?.done;
    await discardRoot(s);
  });

  it('serves a client with a certificate the CA signed', async () => {
    const r = await docker(['version', '--format', '{{.Server.Version}}'], {
      DOCKER_HOST: url,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: certs,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '0.1.0\n');
  });

  it('refuses a client without a certificate, and one without TLS', async () => {
    const noCert = await docker([
      '-H',
      url,
      '--tls',
      '--tlscacert',
      path.join(certs, 'ca.pem'),
      'version',
      '--format',
      '{{.Server.Version}}',
    ]);
    assert.notEqual(noCert.code, 0);
    assert.equal(noCert.stdout.trim(), '');
    const plain = await docker(['-H', url, 'version', '--format', '{{.Server.Version}}']);
    assert.notEqual(plain.code, 0);
    assert.equal(plain.stdout.trim(), '');
  });

  it('a tcp:// address without the TLS files is a usage error', async () => {
    const r = await s.skiff(['system', 'service', 'tcp://127.0.0.1:2375']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^Error: system service: `tcp:\/\/127\.0\.0\.1:2375`: a TCP listener needs TLS with client certificates/,
    );
    const missing = await s.skiff([
      'system',
      'service',
      'tcp://127.0.0.1:2375',
      '--tls-cert',
      '/nonexistent.pem',
      '--tls-key',
      'k',
      '--tls-ca',
      'c',
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--tls-cert `\/nonexistent\.pem`: no such file/);
  });
});
