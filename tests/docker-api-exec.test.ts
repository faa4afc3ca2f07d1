/**
 * Exec, rename, top and stats through `skiff system service`, driven by the docker CLI (a
 * client only; no dockerd runs) and, where the CLI cannot show it, by raw API requests:
 * testcontainers' non-upgraded exec start, and exec inspect read the moment the stream closes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { run, waitFor, type RunResult } from './helpers.js';
import { apiRequest, demux, startService, type ServiceSandbox } from './service-testing.js';
import { needs } from '../src/util/test-requirements.js';

describe(
  'exec, rename, top and stats over skiff system service',
  { skip: needs('root', 'crun', 'conmon', 'ip', 'nft', 'ps', 'docker', 'script', 'pgrep') },
  () => {
    let svc: ServiceSandbox;
    const docker = (args: string[], input?: string): Promise<RunResult> =>
      run('docker', args, { env: svc.env, timeout: 60_000, input });
    const ok = async (args: string[], input?: string): Promise<string> => {
      const r = await docker(args, input);
      assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const api = async (method: string, p: string, body?: unknown) => {
      const r = await apiRequest(
        svc.socket,
        method,
        p,
        body === undefined ? undefined : JSON.stringify(body),
      );
      return { ...r, json: () => JSON.parse(r.body) as Record<string, unknown> };
    };
    /** The CMD column of `docker top c`, one entry per process. */
    const commands = async (name: string) =>
      (await ok(['top', name]))
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s{2,}/).at(-1));

    before(async () => {
      svc = await startService('skiff-dockerexec-');
      await ok(['run', '-d', '--name', 'c', 'busybox', 'sleep', '600']);
    });
    after(() => svc?.close());

    it('docker exec: output, exit status, stdin, env, user and working directory', async () => {
      const hi = await docker(['exec', 'c', 'echo', 'hi']);
      assert.equal(hi.code, 0, hi.stderr);
      assert.equal(hi.stdout, 'hi\n');
      assert.equal((await docker(['exec', 'c', 'sh', '-c', 'exit 3'])).code, 3);
      const both = await docker(['exec', 'c', 'sh', '-c', 'echo out; echo err >&2']);
      assert.deepEqual([both.stdout, both.stderr], ['out\n', 'err\n']);
      assert.equal(await ok(['exec', '-i', 'c', 'cat'], 'piped\nline 2\n'), 'piped\nline 2\n');
      // More than any pipe or socket buffer holds: nothing is cut when the command exits.
      const many = await ok(['exec', 'c', 'seq', '1', '200000']);
      assert.equal(many.split('\n').length, 200001);
      assert.ok(many.endsWith('\n199999\n200000\n'));
      assert.equal(
        await ok([
          'exec',
          '-e',
          'FOO=bar',
          '-w',
          '/tmp',
          '-u',
          '1000',
          'c',
          'sh',
          '-c',
          'echo $FOO; pwd; id -u',
        ]),
        'bar\n/tmp\n1000\n',
      );
    });

    it('docker exec -it runs on a pseudo-terminal the client sizes', async () => {
      // script(1) gives the CLI a terminal; its stdin stays open until the command is over,
      // as a user's would. The command waits a moment for the CLI's resize after the start.
      const child = spawn(
        'script',
        [
          '-qec',
          `stty rows 40 cols 120; docker exec -it c sh -c 'sleep 1; tty; stty size; exit 7'`,
          '/dev/null',
        ],
        { env: { ...process.env, ...svc.env }, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      child.stdin.end();
      const out = Buffer.concat(chunks).toString('utf8');
      assert.equal(code, 7, out);
      assert.match(out, /\/dev\/pts\/\d+\r\n40 120\r\n/);
    });

    it('a missing command ends with 127 and says why; a stopped container refuses', async () => {
      const bash = await docker(['exec', 'c', '/bin/bash']);
      assert.equal(bash.code, 127);
      assert.match(bash.stderr, /\/bin\/bash.*not found/);
      assert.equal((await docker(['exec', 'c', '/etc'])).code, 126);
      const noUser = await docker(['exec', '-u', 'nosuch', 'c', 'id']);
      assert.equal(noUser.code, 126);
      assert.match(noUser.stderr + noUser.stdout, /unable to find user `nosuch`/);
      await ok(['create', '--name', 'stopped', 'busybox', 'true']);
      const stopped = await docker(['exec', 'stopped', 'echo', 'hi']);
      assert.notEqual(stopped.code, 0);
      assert.match(stopped.stderr, /is not running/);
      assert.equal((await api('POST', '/containers/stopped/exec', { Cmd: ['true'] })).status, 409);
      assert.equal((await api('POST', '/containers/nosuch/exec', { Cmd: ['true'] })).status, 404);
      await ok(['rm', 'stopped']);
    });

    it('a start without an upgrade streams frames until close, with ExitCode final by then', async () => {
      // testcontainers' form: a 200, the raw stream, the end of the connection.
      const made = await api('POST', '/containers/c/exec', {
        Cmd: ['sh', '-c', 'echo out; echo err >&2; sleep 0.3; exit 5'],
        AttachStdout: true,
        AttachStderr: true,
      });
      assert.equal(made.status, 201, made.body);
      const id = made.json()['Id'] as string;
      assert.match(id, /^[0-9a-f]{64}$/);
      const before = (await api('GET', `/exec/${id}/json`)).json();
      assert.deepEqual([before['Running'], before['ExitCode']], [false, null]);
      const started = await apiRequest(
        svc.socket,
        'POST',
        `/exec/${id}/start`,
        JSON.stringify({ stdin: true, Detach: false, Tty: false }),
      );
      assert.equal(started.status, 200);
      assert.equal(started.headers['content-type'], 'application/vnd.docker.raw-stream');
      const frames = await apiRequest(svc.socket, 'GET', `/exec/${id}/json`);
      const inspect = JSON.parse(frames.body) as Record<string, unknown>;
      assert.equal(inspect['ExitCode'], 5);
      assert.equal(inspect['Running'], false);
      assert.equal(inspect['ContainerID'], (await ok(['inspect', '-f', '{{.Id}}', 'c'])).trim());
      assert.deepEqual(inspect['ProcessConfig'], {
        tty: false,
        entrypoint: 'sh',
        arguments: ['-c', 'echo out; echo err >&2; sleep 0.3; exit 5'],
        privileged: false,
        user: '',
      });

      // The stream itself, read raw: frames of each stream.
      const raw = await rawStart(['sh', '-c', 'echo out; echo err >&2']);
      assert.deepEqual(demux(raw.stream), { stdout: 'out\n', stderr: 'err\n' });
      assert.equal(raw.exitCode, 0);
      // testcontainers tries /bin/bash first: the reason in the stream, 127, no 500.
      const bash = await rawStart(['/bin/bash', '-c', 'true']);
      assert.match(demux(bash.stream).stderr, /\/bin\/bash.*not found/);
      assert.equal(bash.exitCode, 127);

      const again = await apiRequest(svc.socket, 'POST', `/exec/${id}/start`, '{}');
      assert.equal(again.status, 409);
      assert.equal((await api('GET', '/exec/nosuch/json')).status, 404);
    });

    it('a detached exec runs on its own; exec inspect shows it running, then its status', async () => {
      const id = (await api('POST', '/containers/c/exec', { Cmd: ['sleep', '1'] })).json()['Id'] as string;
      assert.equal((await api('POST', `/exec/${id}/start`, { Detach: true })).status, 200);
      const running = (await api('GET', `/exec/${id}/json`)).json();
      assert.equal(running['Running'], true);
      assert.equal(running['ExitCode'], null);
      assert.ok((running['Pid'] as number) > 0);
      await waitFor('the detached exec to end', async () => {
        const state = (await api('GET', `/exec/${id}/json`)).json();
        return state['Running'] === false ? state : undefined;
      }).then((state) => assert.equal(state['ExitCode'], 0));
    });

    it('a client that goes away leaves no exec process behind', async () => {
      // -i: the command's stdin ends with the client; -it: the terminal hangs up.
      for (const [flags, command] of [
        [['-i'], 'cat'],
        [['-it'], 'sh'],
      ] as const) {
        const line = `docker exec ${flags.join(' ')} c ${command}`;
        const child = spawn('script', ['-qec', line, '/dev/null'], {
          env: { ...process.env, ...svc.env },
          stdio: ['pipe', 'ignore', 'ignore'],
        });
        const closed = new Promise((resolve) => child.on('close', resolve));
        await waitFor(`${command} in the container`, async () =>
          (await commands('c')).includes(command) ? true : undefined,
        );
        child.kill('SIGKILL');
        await closed;
        // script's own child, the docker CLI, is killed with it (its session ends).
        const left = await run('pgrep', ['-f', line]);
        for (const pid of left.stdout.split('\n').filter((p) => p !== ''))
          process.kill(Number(pid), 'SIGKILL');
        await waitFor(`${command} to end with its client`, async () =>
          (await commands('c')).includes(command) ? undefined : true,
        );
      }
    });

    it('docker rename: the new name is used, peers resolve it, conflicts are refused', async () => {
      await ok(['network', 'create', 'rn']);
      await ok(['run', '-d', '--name', 'ra', '--network', 'rn', 'busybox', 'sleep', '600']);
      await ok(['run', '-d', '--name', 'rb', '--network', 'rn', 'busybox', 'sleep', '600']);
      assert.equal(await ok(['rename', 'rb', 'rb2']), '');
      assert.equal(await ok(['inspect', '-f', '{{.Name}}', 'rb2']), '/rb2\n');
      const hosts = await ok(['exec', 'ra', 'cat', '/etc/hosts']);
      assert.match(hosts, /\srb2$/m);
      assert.doesNotMatch(hosts, /\srb$/m);
      await ok(['exec', 'ra', 'ping', '-c', '1', '-W', '2', 'rb2']);
      const taken = await docker(['rename', 'rb2', 'ra']);
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, /already in use/);
      assert.equal((await api('POST', '/containers/rb2/rename?name=ra')).status, 409);
      assert.equal((await api('POST', '/containers/nosuch/rename?name=x')).status, 404);
      assert.equal((await api('POST', '/containers/rb2/rename?name=rb3')).status, 204);
      await ok(['rm', '-f', 'ra', 'rb3']);
      await ok(['network', 'rm', 'rn']);
    });

    it('docker top lists the container’s processes in split columns', async () => {
      const lines = (await ok(['top', 'c'])).trim().split('\n');
      assert.match(lines[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
      assert.ok(
        lines.slice(1).some((l) => /\ssleep 600$/.test(l)),
        lines.join('\n'),
      );
      const top = (await api('GET', '/containers/c/top')).json();
      assert.deepEqual(top['Titles'], ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
      const rows = top['Processes'] as string[][];
      assert.ok(
        rows.some((r) => r.length === 8 && r[0] === 'root' && r[7] === 'sleep 600'),
        JSON.stringify(rows),
      );
      const aux = (await api('GET', '/containers/c/top?ps_args=aux')).json();
      assert.equal((aux['Titles'] as string[]).at(-1), 'COMMAND');
      await ok(['create', '--name', 'idle', 'busybox', 'true']);
      assert.equal((await api('GET', '/containers/idle/top')).status, 409);
      await ok(['rm', 'idle']);
    });

    it('docker stats --no-stream shows the full name and the memory in use', async () => {
      await ok(['run', '-d', '--name', 'statsbox', 'busybox', 'sleep', '600']);
      const lines = (await ok(['stats', '--no-stream', 'statsbox'])).trim().split('\n');
      assert.match(lines[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
      const cells = lines[1]!.split(/\s{2,}/);
      assert.equal(cells[1], 'statsbox');
      const usage = /^([\d.]+)(B|KiB|MiB|GiB)\s*\//.exec(cells[3] ?? '');
      assert.ok(usage && Number(usage[1]) > 0, lines[1]);

      const once = (await api('GET', '/containers/statsbox/stats?stream=0')).json();
      assert.equal(once['name'], '/statsbox');
      const cpu = once['cpu_stats'] as { system_cpu_usage: number; online_cpus: number };
      const pre = once['precpu_stats'] as { system_cpu_usage: number };
      assert.ok(pre.system_cpu_usage > 0 && cpu.system_cpu_usage > pre.system_cpu_usage);
      assert.ok(cpu.online_cpus >= 1);
      assert.ok((once['memory_stats'] as { usage: number }).usage > 0);
      assert.ok('eth0' in (once['networks'] as object));
      assert.ok((once['pids_stats'] as { current: number }).current >= 1);
      await ok(['rm', '-f', 'statsbox']);
    });

    it('skiff top, stats and rename do the same through the Engine', async () => {
      const top = await svc.s.ok(['top', 'c']);
      assert.match(top.stdout, /\ssleep 600\n/);
      const stats = await svc.s.ok(['stats', '--no-stream', 'c']);
      assert.match(stats.stdout, /^[0-9a-f]{12}\s+c\s+\d+\.\d\d%/m);
      await svc.s.ok(['rename', 'c', 'c2']);
      assert.equal(await ok(['inspect', '-f', '{{.Name}}', 'c2']), '/c2\n');
      await svc.s.ok(['rename', 'c2', 'c']);
    });

    /** An exec made and started without an upgrade; its whole stream, then its status. */
    async function rawStart(cmd: string[]): Promise<{ stream: Buffer; exitCode: unknown }> {
      const made = await api('POST', '/containers/c/exec', {
        Cmd: cmd,
        AttachStdout: true,
        AttachStderr: true,
      });
      const id = made.json()['Id'] as string;
      const stream = await new Promise<Buffer>((resolve, reject) => {
        const headers = { 'Content-Type': 'application/json' };
        const req = http.request(
          { socketPath: svc.socket, method: 'POST', path: `/exec/${id}/start`, headers },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ Detach: false, Tty: false }));
      });
      return { stream, exitCode: (await api('GET', `/exec/${id}/json`)).json()['ExitCode'] };
    }
  },
);
