/** `skiff system check|prune|reset|boot|info`. */
import type { Engine } from '../engine.js';
import { InvalidArgument } from '../util/errors.js';
import { formatByteSize } from '../util/byte-size.js';
import { humanSize } from '../util/format.js';
import { formatFlag, needArgs, parseArgs, str } from './args.js';
import { subcommandNames } from './commands.js';
import type { Output } from './output.js';
import {
  SYSTEM_BOOT,
  SYSTEM_CHECK,
  SYSTEM_INFO,
  SYSTEM_PRUNE,
  SYSTEM_RESET,
  SYSTEM_SERVICE,
} from './system-flags.js';

export async function systemCommand(engine: Engine, argv: string[], out: Output): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'check') return check(engine, rest, out);
  if (verb === 'prune') return prune(engine, rest, out);
  if (verb === 'reset') return reset(engine, rest, out);
  if (verb === 'boot') return boot(engine, rest, out);
  if (verb === 'info') return info(engine, rest, out);
  if (verb === 'service') return service(engine, rest, out);
  if (verb === 'df') return (await import('./disk-usage-command.js')).diskUsageCommand(engine, rest, out);
  throw new InvalidArgument(`system: unknown command \`${verb ?? ''}\` (${subcommandNames('system')})`, {
    code: 'USAGE',
  });
}

async function check(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, SYSTEM_CHECK);
  needArgs(p, SYSTEM_CHECK, 0, 0);
  const format = formatFlag(p, 'system check', ['text', 'json']);
  const report = await engine.check();
  if (format === 'json') {
    out.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const c = report.checked;
    for (const problem of report.problems) out.stdout(`damaged: ${problem}\n`);
    const g = report.garbage;
    if (g.tempFiles + g.unreferencedBlobs + g.unreferencedLayers > 0) {
      out.stdout(
        `garbage (removed by \`skiff system prune\`): ${g.tempFiles} temp files, ${g.unreferencedBlobs} unreferenced blobs, ${g.unreferencedLayers} unreferenced layers\n`,
      );
    }
    out.stdout(
      `checked ${c.blobs} blobs, ${c.layers} layers, ${c.images} images, ${c.manifests} manifests, ${c.tags} tags: ${
        report.problems.length === 0 ? 'no damage' : `${report.problems.length} problems`
      }\n`,
    );
  }
  return report.problems.length === 0 ? 0 : 1;
}

async function prune(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, SYSTEM_PRUNE);
  needArgs(p, SYSTEM_PRUNE, 0, 0);
  const result = await engine.prune();
  for (const id of result.images) out.stdout(`Deleted Image: ${id}\n`);
  out.stdout(
    `Removed ${result.images.length} images, ${result.layers.length} layers, ${result.blobs.length} blobs, ${result.tempFiles} temp files\n`,
  );
  out.stdout(`Total reclaimed space: ${humanSize(result.bytesFreed)} (${result.bytesFreed} bytes)\n`);
  return 0;
}

function info(engine: Engine, argv: string[], out: Output): number {
  const p = parseArgs(argv, SYSTEM_INFO);
  needArgs(p, SYSTEM_INFO, 0, 0);
  const format = formatFlag(p, 'system info', ['text', 'json']);
  const i = engine.info({ runtime: str(p, 'runtime') });
  if (format === 'json') {
    out.stdout(`${JSON.stringify(i, null, 2)}\n`);
    return 0;
  }
  out.stdout(`store:    ${i.root}\nruntime:  ${i.runtime.name} (${i.runtime.path})\n`);
  if (i.runtime.notice !== null) out.stdout(`          ${i.runtime.notice}\n`);
  out.stdout(`cgroups:  ${i.cgroups}\nkernel:   ${i.kernel}\nprograms:\n`);
  for (const [name, file] of Object.entries(i.programs)) {
    out.stdout(`  ${name.padEnd(8)} ${file ?? 'missing'}\n`);
  }
  const l = i.limits;
  out.stdout(
    `limits:   a layer ${formatByteSize(l.maxLayerSize)}, an image ${formatByteSize(l.maxImageSize)}, ` +
      `expansion ${l.maxExpansion}× past ${formatByteSize(l.expansionFloor)} (${l.settings}; --max-… flags of pull, load, import)\n`,
  );
  return 0;
}

async function reset(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, SYSTEM_RESET);
  needArgs(p, SYSTEM_RESET, 0, 0);
  if (!p.flags.get('force')) {
    throw new InvalidArgument(
      `system reset: removes every container, network, volume and image in \`${engine.root}\`; run it with -f`,
      { code: 'USAGE' },
    );
  }
  await engine.reset();
  out.stdout(`Removed the store at ${engine.root}\n`);
  return 0;
}

/**
 * Run at boot (contrib/systemd/skiff-boot.service): containers with `always`/`unless-stopped`
 * come back, and the HAProxy of deployed services with them.
 */
async function boot(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, SYSTEM_BOOT);
  needArgs(p, SYSTEM_BOOT, 0, 0);
  const { started, failed } = await engine.boot();
  for (const row of started) out.stdout(`started ${row.name} (${row.id.slice(0, 12)})\n`);
  for (const { row, error } of failed) out.stderr(`Error: start ${row.name}: ${error.message}\n`);
  // Deployed services: HAProxy again, with the live replicas at their addresses of now.
  let proxyFailed = false;
  try {
    const frontends = await engine.deployer().restore();
    if (frontends > 0 && started.length > 0)
      out.stdout(`haproxy: ${frontends} service port${frontends === 1 ? '' : 's'}\n`);
  } catch (err) {
    proxyFailed = true;
    out.stderr(`Error: ${(err as Error).message}\n`);
  }
  return failed.length === 0 && !proxyFailed ? 0 : 1;
}

/**
 * The Docker Engine API (docs/docker-api.md) on a unix socket, or on TCP with TLS and client
 * certificates, until SIGTERM or SIGINT. `--time N`: exit after N idle seconds (Podman's
 * flag); 0, the default, never.
 */
async function service(engine: Engine, argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, SYSTEM_SERVICE);
  needArgs(p, SYSTEM_SERVICE, 0, 1);
  const time = str(p, 'time') ?? '0';
  if (!/^\d+$/.test(time))
    throw new InvalidArgument(`system service: --time \`${time}\` is not a whole number of seconds`, {
      code: 'USAGE',
    });
  // Loaded only here: no other command needs the HTTP server.
  const { serve, DEFAULT_URL } = await import('../service/server.js');
  const url = p.positionals[0] ?? DEFAULT_URL;
  await serve(engine, {
    url,
    idleSeconds: Number(time),
    tls: { cert: str(p, 'tls-cert'), key: str(p, 'tls-key'), ca: str(p, 'tls-ca') },
    log: (line) => out.stderr(`${line}\n`),
    onListening: (where) => out.stderr(`serving the Docker API on ${where}\n`),
  });
  return 0;
}
