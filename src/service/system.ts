/**
 * `_ping`, `version` and `info`. The CLI sends `HEAD /_ping` before every command and takes
 * the API version from its `Api-Version` header; without it, it falls back to 1.24, which
 * waits for exits in another way. `Builder-Version: 1` keeps a CLI with no buildx on the
 * classic `POST /build`.
 */
import os from 'node:os';
import type { Engine } from '../engine.js';
import { sendJson } from './respond.js';
import { API_VERSION, MIN_API_VERSION, type Context, type Router } from './router.js';

/** skiff's version as the API reports it (the CLI's `skiff version`). */
export const SKIFF_VERSION = '0.1.0';

const PING_HEADERS = {
  'Api-Version': API_VERSION,
  Ostype: 'linux',
  'Builder-Version': '1',
  'Docker-Experimental': 'false',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
  Swarm: 'inactive',
};

function ping(ctx: Context): void {
  ctx.res!.writeHead(200, {
    ...PING_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': 2,
  });
  ctx.res!.end(ctx.method === 'HEAD' ? undefined : 'OK');
}

/** Go's name for this machine's architecture, as Docker reports it. */
function goArch(): string {
  return (
    (
      { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<
        string,
        string
      >
    )[process.arch] ?? process.arch
  );
}

function version(): Record<string, unknown> {
  const details = {
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: os.release(),
    GitCommit: '',
    GoVersion: `node${process.versions.node}`,
    BuildTime: '',
  };
  return {
    Platform: { Name: 'skiff' },
    Components: [{ Name: 'Engine', Version: SKIFF_VERSION, Details: details }],
    Version: SKIFF_VERSION,
    ...details,
  };
}

function info(engine: Engine): Record<string, unknown> {
  const i = engine.info();
  const containers = engine.containers({ all: true });
  const paused = containers.filter((c) => c.paused).length;
  const running = containers.filter((c) => c.state === 'running').length - paused;
  return {
    ID: '',
    Name: os.hostname(),
    ServerVersion: SKIFF_VERSION,
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: containers.length - running - paused,
    Images: engine.images().length,
    Driver: 'overlay',
    DriverStatus: [],
    DockerRootDir: i.root,
    Plugins: {
      Volume: ['local'],
      Network: ['bridge', 'host', 'none'],
      Authorization: null,
      Log: ['json-file'],
    },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    OomKillDisable: false,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: i.cgroups === 'v2' ? '2' : '1',
    NEventsListener: 0,
    KernelVersion: i.kernel,
    OperatingSystem: 'Linux',
    OSVersion: '',
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    GenericResources: null,
    HttpProxy: process.env['HTTP_PROXY'] ?? '',
    HttpsProxy: process.env['HTTPS_PROXY'] ?? '',
    NoProxy: process.env['NO_PROXY'] ?? '',
    Labels: [],
    ExperimentalBuild: false,
    Runtimes: { [i.runtime.name]: { path: i.runtime.path } },
    DefaultRuntime: i.runtime.name,
    Swarm: {
      NodeID: '',
      NodeAddr: '',
      LocalNodeState: 'inactive',
      ControlAvailable: false,
      Error: '',
      RemoteManagers: null,
    },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: '', Expected: '' },
    InitCommit: { ID: '', Expected: '' },
    SecurityOptions: ['name=seccomp,profile=default', `name=cgroupns`],
    Warnings: [],
  };
}

export function systemRoutes(router: Router, engine: Engine): void {
  router
    .add('GET', '/_ping', ping)
    .add('HEAD', '/_ping', ping)
    .add('GET', '/version', (ctx) => sendJson(ctx, 200, version()))
    .add('GET', '/info', (ctx) => sendJson(ctx, 200, info(engine)));
}
