import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeImageConfig, parseImageConfig, type ImageConfig } from './config.js';
import { digestOf } from './digest.js';

const L1 = digestOf('diff1');
const L2 = digestOf('diff2');
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

// The shape of image-spec config.md's example, trimmed.
const ociConfig = {
  created: '2015-10-31T22:22:56.015925234Z',
  author: 'Alyssa P. Hacker <alyspdev@example.com>',
  architecture: 'amd64',
  os: 'linux',
  config: {
    User: 'alice',
    ExposedPorts: { '8080/tcp': {} },
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=oci_is_a'],
    Entrypoint: ['/bin/my-app-binary'],
    Cmd: ['--foreground', '--config', '/etc/my-app.d/default.cfg'],
    Volumes: { '/var/job-result-data': {}, '/var/log/my-app-logs': {} },
    WorkingDir: '/home/alice',
    Labels: { 'com.example.project.git.url': 'https://example.com/project.git' },
    StopSignal: 'SIGTERM',
    Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30_000_000_000, Retries: 3 },
  },
  rootfs: { type: 'layers', diff_ids: [L1, L2] },
  history: [
    { created: '2015-10-31T22:22:54.690851953Z', created_by: '/bin/sh -c #(nop) ADD file:a3bc1e in /' },
    {
      created: '2015-10-31T22:22:55.613815829Z',
      created_by: '/bin/sh -c #(nop) CMD ["sh"]',
      empty_layer: true,
    },
    { created: '2015-10-31T22:22:56.329850019Z', created_by: '/bin/sh -c apk add curl' },
  ],
};

// What Docker writes: Go nulls for unset slices and maps, and many fields skiff ignores.
const dockerConfig = {
  architecture: 'arm64',
  variant: 'v8',
  os: 'linux',
  config: {
    Hostname: '',
    Env: null,
    Cmd: null,
    Entrypoint: null,
    OnBuild: null,
    Labels: null,
    Volumes: null,
  },
  container_config: { Cmd: ['/bin/sh'] },
  docker_version: '24.0.7',
  created: '2024-01-01T00:00:00Z',
  rootfs: { type: 'layers', diff_ids: [L1] },
};

describe('parseImageConfig', () => {
  it('reads an OCI config', () => {
    assert.deepEqual(parseImageConfig(json(ociConfig)), ociConfig);
  });

  it('reads a Docker config, keeping null Cmd and Entrypoint and dropping other nulls', () => {
    const c = parseImageConfig(json(dockerConfig));
    assert.deepEqual(c.config, { Cmd: null, Entrypoint: null });
    assert.equal(c.variant, 'v8');
    assert.equal(c.history, undefined);
    assert.equal('container_config' in c, false);
  });

  it('does not hold an empty history to the layer count', () => {
    assert.deepEqual(parseImageConfig(json({ ...dockerConfig, history: [] })).history, []);
  });

  const rootfs = ociConfig.rootfs;
  const invalid: [string, unknown, string | RegExp][] = [
    ['not JSON', undefined, /^parse image config: invalid JSON: /],
    ['an array', [], 'parse image config: expected an object, got array'],
    [
      'no architecture',
      { ...ociConfig, architecture: undefined },
      'parse image config: missing required field `architecture`',
    ],
    ['empty os', { ...ociConfig, os: '' }, 'parse image config: os: must not be empty'],
    ['no rootfs', { ...ociConfig, rootfs: undefined }, 'parse image config: missing required field `rootfs`'],
    [
      'a rootfs type',
      { ...ociConfig, rootfs: { ...rootfs, type: 'tar' } },
      'parse image config: rootfs.type: must be "layers", got `tar`',
    ],
    [
      'no diff_ids',
      { ...ociConfig, rootfs: { type: 'layers' } },
      'parse image config: rootfs: missing required field `diff_ids`',
    ],
    [
      'a bad diff_id',
      { ...ociConfig, rootfs: { ...rootfs, diff_ids: [L1, 'sha256:1234'] } },
      'parse image config: rootfs.diff_ids[1]: invalid digest `sha256:1234`: sha256 needs 64 hex characters, got 4',
    ],
    [
      'history with too few layers',
      { ...ociConfig, history: ociConfig.history.slice(0, 2) },
      'parse image config: history: 1 entries create layers but rootfs.diff_ids lists 2',
    ],
    [
      'history with too many layers',
      { ...ociConfig, history: [...ociConfig.history, { created_by: 'RUN x' }] },
      'parse image config: history: 3 entries create layers but rootfs.diff_ids lists 2',
    ],
    [
      'a bad empty_layer',
      { ...ociConfig, history: [{ empty_layer: 'yes' }] },
      'parse image config: history[0].empty_layer: expected a boolean, got string',
    ],
    [
      'Env not strings',
      { ...ociConfig, config: { Env: [1] } },
      'parse image config: config.Env[0]: expected a string, got number',
    ],
    [
      'Cmd a string',
      { ...ociConfig, config: { Cmd: 'sh' } },
      'parse image config: config.Cmd: expected an array, got string',
    ],
    [
      'ExposedPorts a list',
      { ...ociConfig, config: { ExposedPorts: { '80/tcp': [] } } },
      'parse image config: config.ExposedPorts.80/tcp: expected an object, got array',
    ],
    [
      'Labels not strings',
      { ...ociConfig, config: { Labels: { a: 1 } } },
      'parse image config: config.Labels.a: expected a string, got number',
    ],
    [
      'a negative Interval',
      { ...ociConfig, config: { Healthcheck: { Interval: -1 } } },
      'parse image config: config.Healthcheck.Interval: must be a non-negative integer, got `-1`',
    ],
    [
      'created a number',
      { ...ociConfig, created: 1 },
      'parse image config: created: expected a string, got number',
    ],
  ];
  for (const [name, value, message] of invalid) {
    it(`rejects ${name}`, () => {
      const bytes = value === undefined ? Buffer.from('{') : json(value);
      assert.throws(() => parseImageConfig(bytes), { name: 'InvalidArgument', message });
    });
  }
});

describe('encodeImageConfig', () => {
  it('writes keys in the order given and reads back equal', () => {
    const config: ImageConfig = {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['A=1'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [L1] },
      history: [{ created_by: 'skiff' }],
    };
    const bytes = encodeImageConfig(config);
    assert.equal(
      bytes.toString(),
      `{"architecture":"amd64","os":"linux","config":{"Env":["A=1"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["${L1}"]},"history":[{"created_by":"skiff"}]}`,
    );
    assert.deepEqual(parseImageConfig(bytes), config);
    assert.deepEqual(encodeImageConfig(config), bytes, 'stable');
  });

  it('refuses to write an invalid config', () => {
    const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['nope'] } };
    assert.throws(() => encodeImageConfig(config as ImageConfig), {
      message: /^encode image config: rootfs\.diff_ids\[0\]: invalid digest `nope`/,
    });
  });
});
