import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCompose } from './compose.js';
import { readProject } from './project.js';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-compose-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));
let n = 0;

/** Writes `lines` as `<dir>/compose.yaml` (plus extra files) in a new project directory named `shop`. */
function project(lines: string[], files: Record<string, string> = {}): string {
  const dir = path.join(base, String(n++), 'shop');
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const file = path.join(dir, 'compose.yaml');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function refusal(lines: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const file = project(lines);
  try {
    await readCompose(file, env);
  } catch (err) {
    return (err as Error).message.replace(`${file}:`, 'compose.yaml:');
  }
  assert.fail('the file was accepted');
}

test('a whole compose file becomes the services of one project, dependencies first', async () => {
  const file = project(
    [
      'x-common: &common', // 1
      '  restart: unless-stopped',
      'services:',
      '  web:',
      '    build:', // 5
      '      context: ./app',
      '      dockerfile: web.Dockerfile',
      '      args: [VERSION=2, FROM_ENV]',
      '      target: prod',
      '    command: httpd -f -p "${WEB_PORT:-8080}" -h /www', // 10
      '    environment:',
      '      DB_HOST: db',
      '      GREETING: ${GREETING}',
      '      FROM_ENV:',
      '    env_file: web.env', // 15
      '    ports:',
      '      - "127.0.0.1:${PUBLIC_PORT}:8080"',
      '      - 9000',
      '      - target: 53',
      '        published: 5353', // 20
      '        protocol: udp',
      '    expose: ["8081"]',
      '    networks:',
      '      front:',
      '        aliases: [www]', // 25
      '      back:',
      '    depends_on:',
      '      db:',
      '        condition: service_healthy',
      '      cache:', // 30
      '        condition: service_started',
      '    user: "1000:1000"',
      '    working_dir: /www',
      '    labels: [tier=web]',
      '    stop_signal: SIGINT', // 35
      '    stop_grace_period: 1m30s',
      '    x-note: ignored',
      '    <<: *common',
      '  db:',
      '    image: db:v1', // 40
      '    volumes:',
      '      - dbdata:/data',
      '      - ./conf:/etc/db:ro',
      '      - type: tmpfs',
      '        target: /run/db', // 45
      '    healthcheck:',
      '      test: ["CMD", "test", "-f", "/data/ready"]',
      '      interval: 1s',
      '      timeout: 500ms',
      '      retries: 5', // 50
      '      start_period: 2s',
      '    networks: [back]',
      '  cache:',
      '    image: base:1',
      '    entrypoint: ["sleep"]', // 55
      '    command: ["600"]',
      '    deploy:',
      '      replicas: 2',
      '    networks: [back]',
      'networks:', // 60
      '  front:',
      '  back:',
      '    driver: bridge',
      'volumes:',
      '  dbdata:', // 65
      'x-top: {anything: [goes]}',
    ],
    { '.env': 'PUBLIC_PORT=8088\nGREETING=from dotenv\n', 'web.env': 'DB_HOST=overridden\nLOG=debug\n' },
  );
  const p = await readCompose(file, { GREETING: 'from the environment', FROM_ENV: 'env value' });
  const dir = path.dirname(file);
  assert.equal(p.name, 'shop');
  assert.deepEqual(
    p.services.map((s) => [s.name, s.dependsOn, s.healthyFirst]),
    [
      ['db', [], []],
      ['cache', [], []],
      ['web', ['db', 'cache'], ['db']],
    ],
  );
  const [db, cache, web] = p.services as [
    (typeof p.services)[0],
    (typeof p.services)[0],
    (typeof p.services)[0],
  ];
  assert.deepEqual(web.build, {
    context: path.join(dir, 'app'),
    dockerfile: path.join(dir, 'app', 'web.Dockerfile'),
    args: { VERSION: '2', FROM_ENV: 'env value' },
    target: 'prod',
    line: 5,
  });
  assert.equal(web.spec.image, 'shop-web');
  assert.deepEqual(web.spec.command, ['httpd', '-f', '-p', '8080', '-h', '/www']);
  assert.deepEqual(web.spec.env, [
    'DB_HOST=db',
    'LOG=debug',
    'GREETING=from the environment',
    'FROM_ENV=env value',
  ]);
  assert.deepEqual(web.spec.publish, ['127.0.0.1:8088:8080', '9000', '5353:53/udp']);
  assert.deepEqual(web.spec.expose, ['8081']);
  assert.equal(web.spec.network, 'shop_front');
  assert.deepEqual(web.spec.aliases, ['www']);
  assert.deepEqual(web.spec.extraNetworks, [{ name: 'shop_back', aliases: [] }]);
  assert.equal(web.spec.user, '1000:1000');
  assert.equal(web.spec.workdir, '/www');
  assert.deepEqual(web.spec.labels, { tier: 'web' });
  assert.equal(web.spec.stopSignal, 'SIGINT');
  assert.equal(web.spec.stopGraceSeconds, 90);
  assert.equal(web.spec.restart, 'unless-stopped', 'from the merged x- section');
  assert.equal(web.spec.project, 'shop');
  assert.equal(web.spec.port, undefined, 'compose ports are published, not proxied');

  assert.deepEqual(db.spec.volumes, ['shop_dbdata:/data', `${path.join(dir, 'conf')}:/etc/db:ro`]);
  assert.deepEqual(db.spec.tmpfs, ['/run/db']);
  assert.deepEqual(db.spec.healthcheck, {
    test: ['CMD', 'test', '-f', '/data/ready'],
    intervalMs: 1000,
    timeoutMs: 500,
    retries: 5,
    startPeriodMs: 2000,
  });
  assert.equal(db.spec.restart, 'no', 'Compose restarts nothing unless told to');
  assert.equal(db.spec.network, 'shop_back');

  assert.deepEqual(cache.spec.entrypoint, ['sleep']);
  assert.deepEqual(cache.spec.command, ['600']);
  assert.equal(cache.spec.replicas, 2);
  assert.deepEqual(
    p.networks.map((x) => x.name),
    ['shop_front', 'shop_back'],
  );
  assert.deepEqual(p.volumes, [{ name: 'shop_dbdata', external: false }]);
  assert.deepEqual(p.bindDirs, [path.join(dir, 'conf')]);
});

test('ports in the short and the long syntax', async () => {
  const ports = async (entries: string[], replicas = 1) => {
    const file = project([
      'services:',
      '  web:',
      '    image: app:v1',
      `    deploy: {replicas: ${replicas}}`,
      '    ports:',
      ...entries.map((e) => `      - ${e}`),
    ]);
    return (await readCompose(file, {})).services[0]!.spec.publish;
  };
  assert.deepEqual(
    await ports(['80', '"8080:80"', '"127.0.0.1:8081:80"', '"127.0.0.1::80"', '"9090-9091:90-91"']),
    ['80', '8080:80', '127.0.0.1:8081:80', '127.0.0.1::80', '9090-9091:90-91'],
  );
  assert.deepEqual(
    await ports(['"53:53/udp"', '{target: 80, published: 8000}', '{target: 443, protocol: tcp, mode: host}']),
    ['53:53/udp', '8000:80/tcp', '443/tcp'],
  );
  assert.deepEqual(
    await ports(['80', '"127.0.0.1::81"'], 3),
    ['80', '127.0.0.1::81'],
    'random host ports suit replicas',
  );
});

test('what the schema rejects names the key, the service and the line', async () => {
  const web = (...lines: string[]) => ['services:', '  web:', '    image: app:v1', ...lines];
  assert.equal(await refusal(web('    imagee: typo')), 'compose.yaml:4: service `web`: unknown key `imagee`');
  assert.equal(
    await refusal(web('    command: 5')),
    'compose.yaml:4: service `web`: `command` must be string or array',
  );
  assert.equal(
    await refusal(web('    ports:', '      - target: 80', '        host_ip: 127.0.0.1')),
    'compose.yaml:6: service `web`: unknown key `ports[0].host_ip`',
  );
  assert.equal(
    await refusal(web('    build: {context: ., cachefrom: [x]}')),
    'compose.yaml:4: service `web`: unknown key `build.cachefrom`',
  );
  assert.equal(
    await refusal(['services:', '  web:', '    image: app:v1', 'volume:', '  data:']),
    'compose.yaml:4: unknown key `volume`',
  );
  assert.equal(
    await refusal(web('    healthcheck:', '      retries: many')),
    'compose.yaml:5: service `web`: `healthcheck.retries` must be number',
  );
  assert.match(await refusal(['services:', '  web: [1]']), /^compose\.yaml:2: service `web`: must be object/);
  assert.match(
    await refusal(['services:', '  web:', '    image: a', '    image: b']),
    /^compose\.yaml:4: .*unique/i,
  );
});

test('what skiff cannot do is refused with the key, the service and the line, never ignored', async () => {
  const web = (...lines: string[]) => ['services:', '  web:', '    image: app:v1', ...lines];
  const table: [string[], string][] = [
    [web('    secrets: [token]'), 'compose.yaml:4: service `web`: `secrets` is not supported'],
    [web('    privileged: true'), 'compose.yaml:4: service `web`: `privileged` is not supported'],
    [
      web('    deploy:', '      resources:', '        limits: {memory: 1g}'),
      'compose.yaml:5: service `web`: `deploy.resources` is not supported',
    ],
    [
      web('    build:', '      context: .', '      cache_from: [x]'),
      'compose.yaml:6: service `web`: `build.cache_from` is not supported',
    ],
    [
      [...web('    networks:', '      front:', '        ipv4_address: 10.0.0.9'), 'networks:', '  front:'],
      'compose.yaml:6: service `web`: `networks.front.ipv4_address` is not supported',
    ],
    [web('    extends: {service: base}'), 'compose.yaml:4: service `web`: `extends` is not supported'],
    [[...web(), 'secrets:', '  token: {file: ./token}'], 'compose.yaml:4: `secrets` is not supported'],
    [
      [...web(), 'networks:', '  front:', '    driver: overlay'],
      'compose.yaml:6: network `front`: driver `overlay` is not supported (bridge only)',
    ],
    [
      [...web(), 'networks:', '  front:', '    internal: true'],
      'compose.yaml:6: network `front`: `internal` is not supported',
    ],
    [
      [...web(), 'volumes:', '  data:', '    driver: nfs'],
      'compose.yaml:6: volume `data`: driver `nfs` is not supported (local only)',
    ],
    [
      web('    depends_on:', '      db:', '        condition: service_completed_successfully'),
      'compose.yaml:6: service `web`: `depends_on.db.condition`: `service_completed_successfully` is not supported (service_started, service_healthy)',
    ],
    [
      web('    networks: [nowhere]'),
      'compose.yaml:4: service `web`: network `nowhere` is not defined under the top-level `networks`',
    ],
    [
      web('    volumes: ["data:/data"]'),
      'compose.yaml:4: service `web`: volume `data` is not defined under the top-level `volumes`',
    ],
    [
      web('    volumes: ["/data"]'),
      'compose.yaml:4: service `web`: `volumes[0]`: anonymous volumes are not supported; name it (NAME:/data) and declare NAME under the top-level `volumes`',
    ],
    [
      web('    volumes: [{type: npipe, source: x, target: /x}]'),
      'compose.yaml:4: service `web`: `volumes[0]`: volume type `npipe` is not supported (volume, bind, tmpfs)',
    ],
    [
      web('    deploy: {replicas: 2}', '    ports: ["8080:80"]'),
      'compose.yaml:5: service `web`: `ports[0]` publishes host port 8080, which 2 replicas cannot all take (publish the container port alone, or run one replica)',
    ],
    [
      web('    ports: ["[::1]:80:80"]'),
      'compose.yaml:4: service `web`: `ports[0]`: invalid publish `[::1]:80:80`: IPv6 host addresses are not supported',
    ],
    [
      web('    restart: sometimes'),
      'compose.yaml:4: service `web`: `restart` must be no, always, unless-stopped or on-failure[:N]',
    ],
    [
      web('    stop_grace_period: soon'),
      'compose.yaml:4: service `web`: `stop_grace_period` must be a duration like 10s, 1m30s or 500ms',
    ],
    [
      web('    healthcheck: {test: [curl, x]}'),
      'compose.yaml:4: service `web`: `healthcheck.test` must start with CMD, CMD-SHELL or NONE',
    ],
    [
      web('    command: echo "open'),
      'compose.yaml:4: service `web`: `command`: split `echo "open`: no closing quotation',
    ],
    [
      web('    depends_on: [ghost]'),
      'compose.yaml:4: service `web`: depends on `ghost`, which the file does not define',
    ],
    [
      web('    env_file: missing.env'),
      'compose.yaml:4: service `web`: env_file `missing.env` does not exist',
    ],
    [
      ['services:', '  Web:', '    image: app:v1'],
      'compose.yaml:2: service `Web`: invalid name (lower-case letters, digits, - and _, at most 41, starting with a letter or digit)',
    ],
    [['services:', '  web:', '    command: x'], 'compose.yaml:2: service `web`: needs `image` or `build`'],
  ];
  for (const [lines, want] of table) assert.equal(await refusal(lines), want);
});

test('interpolation errors name the line; the environment wins over .env; x- keys are never read', async () => {
  assert.equal(
    await refusal([
      'services:',
      '  web:',
      '    image: app:v1',
      '    environment:',
      '      PASSWORD: ${DB_PASSWORD:?set it in .env}',
    ]),
    'compose.yaml:5: service `web`: `environment.PASSWORD`: required variable `DB_PASSWORD` is not set: set it in .env',
  );
  assert.equal(
    await refusal(['services:', '  web:', '    image: app:$TAG', '    command: echo $5']),
    'compose.yaml:4: service `web`: `command`: invalid interpolation format in `echo $5`: `$` must start a variable or be written `$$`',
  );
  const file = project(
    [
      'x-ignored: ${NOT_INTERPOLATED:?never read}',
      'services:',
      '  web:',
      '    image: app:${TAG}',
      '    command: echo $$HOME ${FROM_DOTENV}',
      '    deploy:',
      '      replicas: ${REPLICAS}',
      '    x-skiff-anything: {whatever: 1}',
    ],
    { '.env': 'TAG=from-dotenv\nFROM_DOTENV=dotenv\nREPLICAS=3\nCOMPOSE_PROJECT_NAME=Custom.Name\n' },
  );
  const p = await readCompose(file, { TAG: 'v2' });
  const web = p.services[0]!;
  assert.equal(web.spec.image, 'app:v2');
  assert.deepEqual(web.spec.command, ['echo', '$HOME', 'dotenv']);
  assert.equal(web.spec.replicas, 3, 'a substituted number is a number, as Compose converts it');
  assert.equal(p.name, 'customname');
  assert.equal(web.spec.network, 'customname_default');
});

test('skiff.yaml keeps its own format; any other name is a compose file', async () => {
  const dir = path.join(base, 'own');
  fs.mkdirSync(dir, { recursive: true });
  const lines = [
    'network: ownnet',
    'services:',
    '  web:',
    '    image: app:v1',
    '    port: "127.0.0.1:8080:80"',
    '    health: /up',
  ];
  fs.writeFileSync(path.join(dir, 'skiff.yaml'), lines.join('\n'));
  const own = await readProject(path.join(dir, 'skiff.yaml'));
  assert.deepEqual(own.services[0]!.spec.port, { bind: '127.0.0.1', public: 8080, container: 80 });
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), lines.join('\n'));
  await assert.rejects(
    readProject(path.join(dir, 'docker-compose.yml')),
    /docker-compose\.yml:1: unknown key `network`/,
  );
});
