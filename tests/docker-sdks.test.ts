/**
 * The Docker SDKs drive skiff through `skiff system service`, unchanged, with only the
 * socket pointed at it: dockerode (list, create, start, wait, logs, exec, `run` with its
 * non-upgraded attach), testcontainers (a GenericContainer with an exposed port, a log-message
 * wait strategy and exec, with the reaper disabled, and with it on: a Ryuk-compatible reaper
 * built here, which removes what a test process left through the socket mounted into it) and
 * Python's `docker` SDK (containers.run, exec_run, images.build, networks, volumes).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { httpGet } from './container-testing.js';
import { REPO, run, waitFor } from './helpers.js';
import { demux, startService, type ServiceSandbox } from './service-testing.js';
import { needs } from '../src/util/test-requirements.js';

const SERVICE_NEEDS = ['root', 'crun', 'conmon', 'ip', 'nft'] as const;

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('close', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

describe('dockerode over skiff system service', { skip: needs(...SERVICE_NEEDS) }, () => {
  let svc: ServiceSandbox;
  let docker: Docker;

  before(async () => {
    svc = await startService('skiff-dockerode-');
    docker = new Docker({ socketPath: svc.socket });
  });
  after(() => svc?.close());

  it('create, start, wait, logs and remove', async () => {
    const c = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 4'],
      Labels: { 'skiff.test': 'dockerode' },
    });
    await c.start();
    const waited = (await c.wait()) as { StatusCode: number };
    assert.equal(waited.StatusCode, 4);
    const logs = demux((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    assert.deepEqual(logs, { stdout: 'out\n', stderr: 'err\n' });
    const listed = await docker.listContainers({ all: true, filters: { label: ['skiff.test=dockerode'] } });
    assert.deepEqual(
      listed.map((row) => [row.Id, row.State]),
      [[c.id, 'exited']],
    );
    await c.remove();
    await assert.rejects(c.inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
  });

  it('exec in a running container: output and exit code', async () => {
    const c = await docker.createContainer({ Image: 'busybox:latest', Cmd: ['sleep', '300'] });
    await c.start();
    try {
      const exec = await c.exec({
        Cmd: ['sh', '-c', 'echo from-exec; exit 5'],
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      const output = demux(await collect(stream));
      assert.equal(output.stdout, 'from-exec\n');
      const info = await exec.inspect();
      assert.equal(info.ExitCode, 5);
      assert.equal(info.Running, false);
    } finally {
      await c.remove({ force: true });
    }
  });

  it('run: the attached output without the request body, and the status', async () => {
    const out = new PassThrough();
    const got = collect(out);
    const [result, container] = (await docker.run('busybox:latest', ['echo', 'hello-from-run'], out, {
      Tty: true,
    })) as [{ StatusCode: number }, Docker.Container];
    out.end();
    assert.equal(result.StatusCode, 0);
    assert.equal((await got).toString('utf8').replace(/\r\n/g, '\n'), 'hello-from-run\n');
    await container.remove();
  });
});

describe('testcontainers over skiff system service', { skip: needs(...SERVICE_NEEDS) }, () => {
  let svc: ServiceSandbox;
  const saved = { ...process.env };

  before(async () => {
    svc = await startService('skiff-testcontainers-');
    process.env['DOCKER_HOST'] = svc.env['DOCKER_HOST'];
    process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  });
  after(async () => {
    process.env = saved;
    await svc?.close();
  });

  it('a GenericContainer with an exposed port, a log wait strategy and exec', async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('busybox:latest')
      .withCommand([
        'sh',
        '-c',
        'mkdir -p /www && echo tc-ok > /www/index.html && echo listening && exec httpd -f -p 8080 -h /www',
      ])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forLogMessage('listening'))
      .start();
    try {
      const url = `http://${container.getHost()}:${container.getMappedPort(8080)}/`;
      assert.equal(await httpGet(url), 'tc-ok\n');
      const exec = await container.exec(['cat', '/www/index.html']);
      assert.deepEqual([exec.exitCode, exec.output], [0, 'tc-ok\n']);
    } finally {
      await container.stop();
    }
    const left = await new Docker({ socketPath: svc.socket }).listContainers({ all: true });
    assert.deepEqual(left, []);
  });
});

/** A test process that starts a container with the reaper on and exits without stopping it. */
const LEAVES_A_CONTAINER = `
import { GenericContainer } from ${JSON.stringify(`${REPO}/node_modules/testcontainers/build/index.js`)};
const c = await new GenericContainer('busybox:latest').withCommand(['sleep', '300']).start();
console.log(c.getId());
process.exit(0);
`;

describe(
  'testcontainers with its reaper over skiff system service',
  { skip: needs(...SERVICE_NEEDS, 'gcc', '/usr/lib/x86_64-linux-gnu/libc.a') },
  () => {
    let svc: ServiceSandbox;
    before(async () => {
      svc = await startService('skiff-reaper-');
      // Ryuk's image is on Docker Hub, out of reach here: the same protocol, built static.
      const dir = path.join(svc.s.dir, 'reaper');
      fs.mkdirSync(dir);
      const built = await run('gcc', [
        '-static',
        '-O2',
        '-o',
        path.join(dir, 'reaper'),
        path.join(REPO, 'tests/reaper/reaper.c'),
      ]);
      assert.equal(built.code, 0, built.stderr);
      fs.writeFileSync(
        path.join(dir, 'Dockerfile'),
        'FROM scratch\nCOPY reaper /reaper\nENTRYPOINT ["/reaper"]\n',
      );
      await svc.s.ok(['build', '-q', '-t', 'skiff-test/reaper:1', dir]);
    });
    after(() => svc?.close());

    it('the reaper, with the socket mounted, removes what an exited test process left', async () => {
      const script = path.join(svc.s.dir, 'leave.mjs');
      fs.writeFileSync(script, LEAVES_A_CONTAINER);
      const r = await run(process.execPath, [script], {
        env: {
          DOCKER_HOST: svc.env['DOCKER_HOST'],
          RYUK_CONTAINER_IMAGE: 'skiff-test/reaper:1',
          TESTCONTAINERS_RYUK_RECONNECTION_TIMEOUT: '1s',
        },
        timeout: 120_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const left = r.stdout.trim();
      assert.match(left, /^[0-9a-f]{64}$/);
      const docker = new Docker({ socketPath: svc.socket });
      const names = (await docker.listContainers({ all: true })).map((c) => c.Names[0]);
      assert.ok(
        names.some((n) => n?.startsWith('/testcontainers-ryuk-')),
        `the reaper runs: ${names.join(', ')}`,
      );
      // Once the test process is gone, the reaper removes its container, and then itself.
      await waitFor(
        'the reaper to remove the left container and itself',
        async () => ((await docker.listContainers({ all: true })).length === 0 ? true : undefined),
        { timeout: 60_000 },
      );
    });
  },
);

const PYTHON_FLOW = `
import json, sys, docker
client = docker.from_env()
out = {}
out["run"] = client.containers.run("busybox:latest", ["echo", "hi"], remove=True).decode()
c = client.containers.run("busybox:latest", ["sleep", "300"], detach=True, name="py-sleeper")
code, output = c.exec_run(["sh", "-c", "echo from-exec"])
out["exec"] = [code, output.decode()]
c.remove(force=True)
image, _ = client.images.build(path=sys.argv[1], tag="pybuilt:1", rm=True)
out["build"] = image.tags
out["built_runs"] = client.containers.run("pybuilt:1", remove=True).decode()
net = client.networks.create("pynet")
out["net"] = [n.name for n in client.networks.list(names=["pynet"])]
net.remove()
vol = client.volumes.create("pyvol")
out["vol"] = client.volumes.get("pyvol").name
vol.remove()
print(json.dumps(out))
`;

describe(
  'the Python docker SDK over skiff system service',
  { skip: needs(...SERVICE_NEEDS, '/usr/lib/python3/dist-packages/docker/__init__.py') },
  () => {
    let svc: ServiceSandbox;
    before(async () => {
      svc = await startService('skiff-dockerpy-');
    });
    after(() => svc?.close());

    it('containers.run, exec_run, images.build, networks and volumes', async () => {
      const context = path.join(svc.s.dir, 'pyctx');
      fs.mkdirSync(context);
      fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox:latest\nCMD ["echo", "built"]\n');
      // Debian's python3, which python3-docker is installed for (not a python3 earlier on PATH).
      const r = await run('/usr/bin/python3', ['-c', PYTHON_FLOW, context], {
        env: svc.env,
        timeout: 120_000,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), {
        run: 'hi\n',
        exec: [0, 'from-exec\n'],
        build: ['pybuilt:1'],
        built_runs: 'built\n',
        net: ['pynet'],
        vol: 'pyvol',
      });
    });
  },
);
