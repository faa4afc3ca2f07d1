/**
 * Containers as Docker's API shows them: the `GET /containers/json` rows and the
 * `GET /containers/{id}/json` document. Clients read these fields (docs/docker-api.md): the
 * name with its leading "/", `State` with no `Health` unless there is a healthcheck (compose
 * prints "Up ()" otherwise), `LogConfig.Type` "json-file" (compose skips other drivers).
 */
import type { ContainerRow, ContainerSummary, CreateOptions } from '../engine.js';
import { familiarString, parseReference } from '../oci/reference.js';
import { timeAgo } from '../util/format.js';
import { unixSeconds } from '../util/timestamps.js';

/** `busybox:latest` for `docker.io/library/busybox:latest`; other text as it is. */
export function familiar(name: string): string {
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
  }
}

/** Go's zero time, which Docker shows for a start or finish that has not happened. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** "Up 4 seconds", "Up 1 minute (Paused)", "Exited (0) 3 seconds ago", "Created", as `docker ps` shows them. */
export function statusText(c: {
  state: string;
  exitCode: number | null;
  started: string | null;
  finished: string | null;
  paused?: boolean;
}): string {
  if (c.state === 'running')
    return `Up ${timeAgo(c.started ?? undefined).replace(/ ago$/, '')}${c.paused ? ' (Paused)' : ''}`;
  if (c.state === 'exited') return `Exited (${c.exitCode ?? 0}) ${timeAgo(c.finished ?? undefined)}`;
  return 'Created';
}

function networkMode(o: CreateOptions): string {
  return o.network ?? 'bridge';
}

function portRows(
  c: ContainerSummary,
): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
  return c.ports.map((p) => ({
    IP: p.hostIp ?? '0.0.0.0',
    PrivatePort: p.containerPort,
    PublicPort: p.hostPort,
    Type: p.protocol,
  }));
}

/** A row of `GET /containers/json`. */
export function containerSummary(c: ContainerSummary, options: CreateOptions): Record<string, unknown> {
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: familiar(c.image),
    ImageID: c.imageId,
    Command: c.command,
    Created: unixSeconds(c.created),
    Ports: portRows(c),
    Labels: options.labels ?? {},
    State: c.paused ? 'paused' : c.state,
    Status: statusText(c),
    HostConfig: { NetworkMode: networkMode(options) },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

function publishedPorts(o: CreateOptions): {
  exposed: Record<string, object>;
  bindings: Record<string, { HostIp: string; HostPort: string }[]>;
} {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const spec of o.publish ?? []) {
    // [ip:]host:container[/proto]; anything else is shown as given by `skiff inspect`.
    const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(\d*):(\d+)(?:\/(tcp|udp))?$/.exec(spec);
    if (!m) continue;
    const key = `${m[3]}/${m[4] ?? 'tcp'}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: m[1] ?? '', HostPort: m[2] ?? '' });
  }
  return { exposed, bindings };
}

/** A published port as the Engine reports it: the host port resolved while the container runs. */
interface Published {
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol: string;
}

/**
 * `NetworkSettings.Ports` of a running container: the host ports it got (`-p 0:80` and
 * `"HostPort":""` pick one), which is what clients connect to — testcontainers' mapped ports.
 * An exposed port without a binding is `null`, as Docker shows it.
 */
function resolvedBindings(
  ports: Published[],
  exposed: Record<string, object>,
): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of Object.keys(exposed)) out[key] = null;
  for (const p of ports)
    (out[`${p.containerPort}/${p.protocol}`] ??= []).push({
      HostIp: p.hostIp ?? '0.0.0.0',
      HostPort: String(p.hostPort),
    });
  return out;
}

/** `GET /containers/{id}/json`. */
export function containerInspect(
  row: ContainerRow & { options: CreateOptions; paused?: boolean; ports?: Published[] },
  image: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[]; WorkingDir?: string; User?: string },
): Record<string, unknown> {
  const o = row.options;
  const entrypoint = o.entrypoint ?? image.Entrypoint ?? [];
  const cmd = o.command?.length ? o.command : o.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const argv = [...entrypoint, ...cmd];
  const running = row.state === 'running';
  const { exposed, bindings } = publishedPorts(o);
  const health =
    running && row.health
      ? (JSON.parse(row.health) as { status?: string; failingStreak?: number })
      : undefined;
  const mode = networkMode(o);
  return {
    Id: row.id,
    Created: row.created,
    Path: argv[0] ?? '',
    Args: argv.slice(1),
    State: {
      Status: row.paused ? 'paused' : row.state,
      Running: running,
      Paused: row.paused ?? false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? (row.pid ?? 0) : 0,
      ExitCode: row.exit_code ?? 0,
      Error: '',
      StartedAt: row.started ?? ZERO_TIME,
      FinishedAt: row.finished ?? ZERO_TIME,
      ...(health
        ? {
            Health: {
              Status: health.status ?? 'starting',
              FailingStreak: health.failingStreak ?? 0,
              Log: [],
            },
          }
        : {}),
    },
    Image: row.image_id,
    Name: `/${row.name}`,
    RestartCount: row.restart_count,
    Driver: 'overlay',
    Platform: 'linux',
    LogPath: '',
    HostConfig: {
      NetworkMode: mode,
      PortBindings: bindings,
      Binds: o.volumes ?? [],
      AutoRemove: o.rm ?? false,
      LogConfig: { Type: 'json-file', Config: {} },
      RestartPolicy: {
        Name: o.restart?.split(':')[0] ?? 'no',
        MaximumRetryCount: Number(o.restart?.split(':')[1] ?? 0),
      },
      Privileged: o.privileged ?? false,
      ReadonlyRootfs: o.readOnly ?? false,
      CapAdd: o.capAdd ?? null,
      CapDrop: o.capDrop ?? null,
      Links: null,
    },
    Mounts: [],
    Config: {
      Hostname: o.hostname ?? row.id.slice(0, 12),
      Domainname: '',
      User: o.user ?? image.User ?? '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: exposed,
      Tty: o.tty ?? false,
      OpenStdin: o.interactive ?? false,
      StdinOnce: false,
      Env: [...(image.Env ?? []), ...(o.env ?? [])],
      Cmd: cmd,
      Image: familiar(row.image_name),
      Volumes: null,
      WorkingDir: o.workdir ?? image.WorkingDir ?? '',
      Entrypoint: entrypoint.length ? entrypoint : null,
      Labels: o.labels ?? {},
      StopSignal: o.stopSignal ?? 'SIGTERM',
      ...(o.stopTimeout !== undefined ? { StopTimeout: o.stopTimeout } : {}),
    },
    NetworkSettings: {
      Ports:
        running && row.ports
          ? resolvedBindings(row.ports, exposed)
          : Object.fromEntries(Object.entries(bindings)),
      IPAddress: '',
      Gateway: '',
      Networks: {
        [mode]: { Aliases: [row.id.slice(0, 12), ...(o.networkAliases ?? [])] },
        // Networks joined later (`network connect`, compose's further networks).
        ...Object.fromEntries(
          (o.extraNetworks ?? []).map((n) => [
            n.name,
            { Aliases: [row.id.slice(0, 12), ...(n.aliases ?? [])] },
          ]),
        ),
      },
    },
  };
}

/** A row of `GET /images/json` (and of `/system/df`'s images). */
export function imageSummaryShape(
  i: { id: string; tags: string[]; created?: string; size: number },
  extra: { sharedSize: number; containers: number },
): Record<string, unknown> {
  return {
    Id: i.id,
    ParentId: '',
    RepoTags: i.tags.length ? i.tags.map(familiar) : ['<none>:<none>'],
    RepoDigests: [],
    Created: unixSeconds(i.created),
    Size: i.size,
    SharedSize: extra.sharedSize,
    VirtualSize: i.size,
    Labels: {},
    Containers: extra.containers,
  };
}
