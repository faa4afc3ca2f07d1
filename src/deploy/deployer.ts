/**
 * Releases of a service: start the new containers, wait until they are ready, move traffic in
 * HAProxy through its runtime API, drain the old ones — which stay running, drained, for the
 * keep-warm window (then stopped), as the rollback target. A rollback inside the window is
 * only a proxy switch; after it, a start of those containers and the same switch back.
 *
 * Order of effects, so that a failure at any step leaves the old release serving: nothing in
 * the proxy changes before every new replica is ready; the database's live pointer moves in
 * the same step as the proxy switch; old containers are stopped only after their servers left
 * the proxy. One deploy or rollback per service at a time (a lock file per service).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveImage } from '../image/image.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { tryLock, type FileLock } from '../sys/flock.js';
import { FailedPrecondition, NotFound } from '../util/errors.js';
import { backendOf, Proxy, type Frontend } from './proxy.js';
import { healthDeadlineMs, waitHealthy } from './health-gate.js';
import { waitReady } from './readiness.js';
import { checkServiceName, Releases, type Release, type ServiceSpec } from './releases.js';
import { describeChange } from './describe-change.js';
import { startReplicas } from './start-replicas.js';

/** How long a release switched away from stays warm (running, drained) unless told otherwise. */
export const DEFAULT_KEEP_WARM_MS = 10 * 60_000;

export interface DeployerOptions {
  /** progress lines: "web-8-1 ready", "traffic on release 8" */
  progress?: (line: string) => void;
  /** seconds an old replica gets between its stop signal and SIGKILL (default 10, as docker stop) */
  stopTimeout?: number;
  /**
   * After a switch, the release switched away from stays running, drained, this long (default
   * 10 min) so a rollback needs no container start; 0 stops it at once. Only for a service
   * behind the proxy: one without a port is recreated, never run side by side.
   */
  keepWarmMs?: number;
}

export class Deployer {
  readonly releases: Releases;
  readonly proxy: Proxy;

  constructor(
    private readonly store: Store,
    private readonly runtime: Runtime,
    private readonly options: DeployerOptions = {},
  ) {
    this.releases = new Releases(store.meta.db);
    this.proxy = new Proxy(store.paths.root);
  }

  /** Deploys `spec` as the next release of `service`; returns it live, or throws with the old one serving. */
  async deploy(service: string, spec: ServiceSpec, o: { message?: string } = {}): Promise<Release> {
    checkServiceName(service);
    return this.withLock(service, 'deploy', async () => {
      const image = resolveImage(this.store, spec.image);
      const previous = this.releases.live(service);
      if (spec.port) await this.proxy.ensure(this.frontends({ service, spec }));
      this.ensureNetwork(spec.network);
      for (const n of spec.extraNetworks ?? []) this.ensureNetwork(n.name);
      const release = this.releases.begin({
        service,
        imageId: image.imageId,
        imageName: spec.image,
        spec,
        created: new Date().toISOString(),
        author: author(),
        message: o.message ?? describeChange(previous, spec, image.imageId),
      });
      this.progress(`release ${release.number} of ${service}: ${release.message}`);
      // Without a proxy in front (a database, a cache), two releases must not run side by side
      // on one volume: the old one stops first (recreate), and the new one is then awaited.
      if (!spec.port && previous) await this.stopContainers(previous.containers, previous);
      try {
        const ids = await this.startReplicas(release);
        await this.awaitReady(release, ids);
        await this.switchTraffic(service, spec, { to: release.number, from: previous?.number, ids });
      } catch (err) {
        await this.abandon(release, previous, err as Error);
        throw err;
      }
      if (previous) await this.retireBefore(service, previous.number);
      return this.releases.find(service, release.number);
    });
  }

  /** Puts the previous release (or release `to`) back in front. */
  async rollback(service: string, o: { to?: number } = {}): Promise<Release> {
    return this.withLock(service, 'rollback', async () => {
      const current = this.releases.live(service);
      const history = this.releases.history(service);
      let target =
        o.to !== undefined
          ? this.releases.find(service, o.to)
          : history.find(
              (r) => (r.status === 'warm' || r.status === 'stopped') && r.number !== current?.number,
            );
      if (!target) {
        throw new FailedPrecondition(`rollback \`${service}\`: no previous release to roll back to`, {
          code: 'NO_ROLLBACK_TARGET',
        });
      }
      if (target.number === current?.number) {
        throw new FailedPrecondition(`rollback \`${service}\`: release ${target.number} is already live`);
      }
      if (target.status === 'failed') {
        throw new FailedPrecondition(
          `rollback \`${service}\`: release ${target.number} failed; it never served`,
        );
      }
      // A window that has passed ends now, whoever was to end it: past it, a rollback is a cold one.
      if (target.status === 'warm' && !isWarm(target)) {
        await this.endWarm(target, 'warm window over');
        target = this.releases.find(service, target.number);
      }
      if (!target.spec.port && current) await this.stopContainers(current.containers, current);
      let ids = target.containers.filter((id) => this.runtime.records.get(id));
      const retired = ids.length !== target.spec.replicas;
      if (retired) {
        // Its containers were removed: made again from its spec and image.
        resolveImage(this.store, target.imageId);
        ids = await this.startReplicas(target);
      }
      if (!target.spec.port) {
        if (!retired) await Promise.all(ids.map((id) => this.runtime.start(id)));
        try {
          await this.awaitReady(target, ids);
        } catch (err) {
          await this.stopContainers(ids, target);
          if (current) await Promise.all(current.containers.map((id) => this.runtime.start(id)));
          throw err;
        }
        this.releases.switchLive(service, target.number, current?.number);
        return this.releases.find(service, target.number);
      }
      await this.switchEach(target, current, ids, { start: !retired });
      return this.releases.find(service, target.number);
    });
  }

  /**
   * Rollback's switch: each replica joins the proxy as soon as it is ready, and the current
   * release drains once the first has joined — traffic is back after one container start, not
   * all of them. A warm target's replicas run already: its drained servers go back to `ready`
   * and nothing starts. If one fails, the current release is put back as it was.
   */
  private async switchEach(
    target: Release,
    current: Release | undefined,
    ids: string[],
    o: { start: boolean },
  ): Promise<void> {
    const spec = target.spec;
    const backend = backendOf(target.service);
    const old = current?.containers ?? [];
    const oldNames = new Set(old.flatMap((id) => this.runtime.records.get(id)?.name ?? []));
    const inProxy = new Map(
      (await this.proxy.api.servers(backend)).map((v) => [v.name, `${v.address}:${v.port}`]),
    );
    const toStart = o.start ? ids.filter((id) => !this.running(id)) : [];
    this.progress(
      toStart.length === 0
        ? `release ${target.number} is running (warm): switching traffic, no container to start`
        : `starting ${toStart.length} replica${toStart.length === 1 ? '' : 's'} of release ${target.number}, each joins when ready (at most ${spec.healthTimeoutMs / 1000} s)…`,
    );
    const joined: string[] = [];
    let drained = false;
    try {
      await Promise.all(
        ids.map(async (id) => {
          if (toStart.includes(id)) await this.runtime.start(id);
          await this.readyOne(target, id);
          await this.joinServer(backend, spec, id, inProxy);
          joined.push(id);
          if (!drained) {
            drained = true;
            for (const name of oldNames)
              if (inProxy.has(name)) await this.proxy.api.setState(backend, name, 'drain');
          }
        }),
      );
    } catch (err) {
      if (drained) {
        for (const name of oldNames)
          if (inProxy.has(name)) await this.proxy.api.setState(backend, name, 'ready');
      }
      await this.dropServers(backend, joined, 0);
      // A warm target no longer runs as it did: it becomes a plain stopped release.
      if (target.status === 'warm')
        this.releases.update(target.service, target.number, { status: 'stopped' });
      await this.stopContainers(ids, target);
      throw err;
    }
    const warmUntil = current ? this.warmUntil(current) : undefined;
    this.releases.switchLive(target.service, target.number, current?.number, { warmUntil });
    this.progress(`traffic on release ${target.number}`);
    if (current) await this.leave(current, warmUntil);
  }

  /**
   * A replica whose server is still in the backend at its address (a warm release's, drained)
   * goes back with `state ready` — one command, no check to wait for (skiff checked it just
   * before). Otherwise (a started container, an HAProxy restarted since) it is added anew.
   */
  private async joinServer(
    backend: string,
    spec: ServiceSpec,
    id: string,
    inProxy: Map<string, string>,
  ): Promise<void> {
    const [server] = this.servers([id], spec.port!.container);
    if (server && inProxy.get(server.name) === server.address) {
      await this.proxy.api.setState(backend, server.name, 'ready');
    } else {
      await this.addServers(backend, spec, [id], new Set(inProxy.keys()));
    }
  }

  /** When the window of `release`, switched away from now, ends; undefined: it stops at once. */
  private warmUntil(release: Release): string | undefined {
    const ms = this.options.keepWarmMs ?? DEFAULT_KEEP_WARM_MS;
    if (ms <= 0 || !release.spec.port) return undefined;
    return new Date(Date.now() + ms).toISOString();
  }

  /**
   * The release switched away from: kept warm (running, its servers drained but in the
   * backend) until `warmUntil`, or its servers leave once their requests are done and its
   * containers stop.
   */
  private async leave(release: Release, warmUntil: string | undefined): Promise<void> {
    if (warmUntil) {
      this.proxy.saveServers(this.frontends());
      this.progress(`release ${release.number} stays warm (running, drained) until ${warmUntil}`);
      return;
    }
    await this.dropServers(backendOf(release.service), release.containers, release.spec.drainMs, release);
    this.proxy.saveServers(this.frontends());
    await this.stopContainers(release.containers, release);
  }

  /**
   * Ends every warm window that has passed (the per-host supervisor calls this on its tick): the
   * release's servers leave the proxy, its containers stop. A service in the middle of a deploy
   * or rollback is left for a later call. Returns how many windows it ended.
   */
  async endWarmWindows(now = new Date()): Promise<number> {
    let ended = 0;
    for (const r of this.releases.warmEnded(now)) {
      const held = tryLock(this.lockFile(r.service), 'exclusive');
      if (!held) continue;
      try {
        const again = this.releases.get(r.service, r.number);
        if (again?.status !== 'warm' || isWarm(again, now)) continue;
        await this.endWarm(again, 'warm window over');
        ended++;
      } finally {
        held.release();
      }
    }
    return ended;
  }

  /** A warm release becomes a plain stopped one: servers out of the proxy, row `stopped`, then its containers stop. */
  private async endWarm(release: Release, why: string): Promise<void> {
    this.progress(`release ${release.number}: ${why}`);
    if (release.spec.port && this.proxy.pid() !== undefined) {
      await this.dropServers(backendOf(release.service), release.containers, 0);
    }
    this.releases.update(release.service, release.number, { status: 'stopped' });
    await this.stopContainers(release.containers, release);
  }

  /**
   * After a reboot or a crash of HAProxy: starts it again from the live releases (their
   * containers' current addresses), when any service has a port. Returns how many frontends.
   */
  async restore(): Promise<number> {
    const frontends = this.frontends();
    if (frontends.length > 0) {
      if (this.proxy.pid() === undefined) this.proxy.forget();
      await this.proxy.ensure(frontends);
    }
    return frontends.length;
  }

  /** Whether deploying `spec` would run exactly what `live` runs (same image, same settings). */
  unchanged(live: Release, spec: ServiceSpec): boolean {
    let imageId: string;
    try {
      imageId = resolveImage(this.store, spec.image).imageId;
    } catch {
      return false;
    }
    return imageId === live.imageId && JSON.stringify(live.spec) === JSON.stringify(spec);
  }

  /**
   * Waits until every replica of the live release passes its health check: Compose's
   * `condition: service_healthy` for a dependency this deploy left as it was.
   */
  async healthy(service: string): Promise<void> {
    const live = this.releases.live(service);
    if (!live) throw new NotFound(`wait for \`${service}\`: no live release`);
    for (const id of live.containers) {
      const row = this.runtime.records.get(id);
      if (row?.health == null) {
        throw new FailedPrecondition(
          `wait for \`${service}\` to be healthy: replica ${row?.name ?? id.slice(0, 12)} has no health check`,
          { code: 'NO_HEALTHCHECK' },
        );
      }
      const r = await waitHealthy(this.runtime, id, healthDeadlineMs(live.spec));
      if (!r.healthy) {
        throw new FailedPrecondition(
          `wait for \`${service}\` to be healthy: replica ${row.name}: ${r.last}`,
          {
            code: 'NOT_READY',
          },
        );
      }
    }
  }

  /** Stops and removes every container of a service, its servers and its history. */
  async remove(service: string): Promise<void> {
    await this.withLock(service, 'remove', async () => {
      const history = this.releases.history(service);
      if (this.proxy.pid() !== undefined) {
        for (const r of history.filter((h) => h.spec.port && (h.status === 'live' || h.status === 'warm')))
          await this.dropServers(backendOf(service), r.containers, 0);
      }
      for (const r of history) {
        for (const id of r.containers) {
          if (this.runtime.records.get(id)) await this.runtime.remove(id, { force: true });
        }
      }
      this.releases.removeService(service);
      if (this.proxy.pid() === undefined) return;
      const frontends = this.frontends();
      // No service left in front of it: the proxy goes too, so an idle host runs nothing of skiff's.
      if (frontends.length === 0) this.proxy.stop();
      else await this.proxy.ensure(frontends);
    });
  }

  /** Every service's frontend with the servers of its live release; `replace` gives one service a new spec (its port, its health path). */
  frontends(replace?: { service: string; spec: ServiceSpec }): Frontend[] {
    const result: Frontend[] = [];
    const names = new Set(this.releases.services().map((s) => s.name));
    if (replace) names.add(replace.service);
    for (const name of names) {
      const live = this.releases.live(name);
      const spec = replace?.service === name ? replace.spec : live?.spec;
      if (!spec?.port) continue;
      const ids = live?.containers ?? [];
      result.push({
        service: name,
        bind: spec.port.bind,
        port: spec.port.public,
        health: spec.health,
        servers: this.servers(ids, spec.port.container),
      });
    }
    return result;
  }

  private servers(ids: string[], port: number): { name: string; address: string }[] {
    return ids.flatMap((id) => {
      const row = this.runtime.records.get(id);
      const ip = row && row.state === 'running' ? this.runtime.address(id) : undefined;
      return row && ip ? [{ name: row.name, address: `${ip}:${port}` }] : [];
    });
  }

  private async startReplicas(release: Release): Promise<string[]> {
    const ids = await startReplicas(this.store, this.runtime, this.releases, release);
    this.progress(`started ${ids.length} replica${ids.length === 1 ? '' : 's'}`);
    return ids;
  }

  private async awaitReady(release: Release, ids: string[]): Promise<void> {
    const { spec } = release;
    // The gate readyOne applies: a health check's own deadline, else skiff's HTTP/TCP check's.
    const withinMs = spec.port && !spec.healthcheck ? spec.healthTimeoutMs : healthDeadlineMs(spec);
    this.progress(`waiting for release ${release.number} to be ready (at most ${withinMs / 1000} s)…`);
    await Promise.all(ids.map((id) => this.readyOne(release, id)));
    this.progress(`${ids.length} replica${ids.length === 1 ? '' : 's'} ready`);
  }

  private async readyOne(release: Release, id: string): Promise<void> {
    const { spec } = release;
    const row = this.runtime.records.get(id)!;
    const alive = () => this.runtime.refresh(this.runtime.records.get(id)!).state === 'running';
    // A replica with a health check (its own or its image's) is ready once the check passes;
    // behind the proxy, skiff's own HTTP/TCP check stays the gate unless the spec gives one.
    if (row.health !== null && (spec.healthcheck || !spec.port)) {
      const r = await waitHealthy(this.runtime, id, healthDeadlineMs(spec));
      if (!r.healthy) throw notReady(release, row.name, r.last, healthDeadlineMs(spec));
    }
    if (!spec.port) {
      await sleep(100);
      if (!alive()) throw notReady(release, row.name, 'the container exited');
      return;
    }
    const address = this.runtime.address(id);
    if (!address) throw notReady(release, row.name, 'it has no address on its network');
    const r = await waitReady(
      { address, port: spec.port.container, path: spec.health },
      { timeoutMs: spec.healthTimeoutMs, alive },
    );
    if (!r.ready) throw notReady(release, row.name, r.last);
  }

  /** Adds the replicas as servers (all options explicit: `add server` ignores default-server) and enables them. */
  private async addServers(
    backend: string,
    spec: ServiceSpec,
    ids: string[],
    present: Set<string>,
  ): Promise<void> {
    for (const v of this.servers(ids, spec.port!.container)) {
      if (present.has(v.name)) await this.proxy.api.deleteServer(backend, v.name).catch(() => undefined);
      await this.proxy.api.addServer(backend, v.name, v.address, { check: spec.health !== undefined });
      await this.proxy.api.setState(backend, v.name, 'ready');
    }
  }

  /**
   * The switch (docs/haproxy.md#switching-traffic): add the new servers with explicit options, enable them,
   * drain the old ones — then the live pointer moves; then the old release stays warm, or its
   * servers leave once their requests are done and its containers stop.
   */
  private async switchTraffic(
    service: string,
    spec: ServiceSpec,
    t: { to: number; from: number | undefined; ids: string[] },
  ): Promise<void> {
    const previous = t.from === undefined ? undefined : this.releases.find(service, t.from);
    if (!spec.port) {
      this.releases.switchLive(service, t.to, t.from);
      if (previous) await this.stopContainers(previous.containers, previous);
      return;
    }
    const backend = backendOf(service);
    const present = new Set((await this.proxy.api.servers(backend)).map((v) => v.name));
    await this.addServers(backend, spec, t.ids, present);
    const oldNames = (previous?.containers ?? []).flatMap((id) => this.runtime.records.get(id)?.name ?? []);
    for (const name of oldNames) {
      if (present.has(name)) await this.proxy.api.setState(backend, name, 'drain');
    }
    const warmUntil = previous ? this.warmUntil(previous) : undefined;
    this.releases.switchLive(service, t.to, t.from, { warmUntil });
    this.progress(`traffic on release ${t.to}`);
    if (previous) await this.leave(previous, warmUntil);
    else this.proxy.saveServers(this.frontends());
  }

  /** Waits (at most `drainMs`) for the servers' requests to finish, then removes them. */
  private async dropServers(backend: string, ids: string[], drainMs: number, of?: Release): Promise<void> {
    const present = new Set((await this.proxy.api.servers(backend)).map((s) => s.name));
    const names = ids.flatMap((id) => this.runtime.records.get(id)?.name ?? []).filter((n) => present.has(n));
    if (names.length === 0) return;
    if (of && drainMs > 0) {
      this.progress(`draining release ${of.number}: its requests finish (at most ${drainMs / 1000} s)…`);
    }
    const deadline = Date.now() + drainMs;
    for (;;) {
      const load = await this.proxy.api.load(backend);
      if (names.every((n) => (load.get(n) ?? 0) === 0) || Date.now() >= deadline) break;
      await sleep(10);
    }
    for (const name of names) {
      await this.proxy.api.setState(backend, name, 'maint');
      await this.proxy.api.shutdownSessions(backend, name);
      await this.proxy.api.deleteServer(backend, name);
    }
  }

  /** Stops the running ones, saying so first: a stop can take the whole stop timeout. */
  private async stopContainers(ids: string[], of: Release): Promise<void> {
    const running = ids.filter((id) => this.running(id));
    if (running.length === 0) return;
    const timeout = this.stopTimeout ?? of.spec.stopGraceSeconds ?? 10;
    this.progress(`stopping release ${of.number} (stop timeout ${timeout} s)…`);
    await Promise.all(
      ids.map(async (id) => {
        const row = this.runtime.records.get(id);
        if (row && this.runtime.refresh(row).state === 'running')
          await this.runtime.stop(id, this.stopTimeout);
      }),
    );
  }

  private running(id: string): boolean {
    const row = this.runtime.records.get(id);
    return row !== undefined && this.runtime.refresh(row).state === 'running';
  }

  /** A release that never became ready: its containers go, the previous one keeps (or resumes) serving. */
  private async abandon(release: Release, previous: Release | undefined, cause: Error): Promise<void> {
    const ids = this.releases.find(release.service, release.number).containers;
    for (const id of ids) await this.runtime.remove(id, { force: true }).catch(() => undefined);
    this.releases.update(release.service, release.number, {
      status: 'failed',
      containers: [],
      message: `${release.message}; failed: ${cause.message}`,
    });
    if (previous && !previous.spec.port) {
      await Promise.all(previous.containers.map((id) => this.runtime.start(id)));
    }
    this.progress(
      previous
        ? `release ${release.number} abandoned; release ${previous.number} keeps serving`
        : `release ${release.number} abandoned`,
    );
  }

  /**
   * Only the release before the live one keeps its containers (warm or stopped): it is the
   * rollback target. Older ones are retired — history stays, containers go (a warm one's
   * servers first); `rollback --to` makes them again from their spec while their image is
   * still in the store.
   */
  private async retireBefore(service: string, keep: number): Promise<void> {
    for (const r of this.releases.history(service)) {
      if ((r.status !== 'stopped' && r.status !== 'warm') || r.number === keep) continue;
      if (r.status === 'warm' && r.spec.port && this.proxy.pid() !== undefined) {
        await this.dropServers(backendOf(service), r.containers, 0);
      }
      for (const id of r.containers) await this.runtime.remove(id, { force: true }).catch(() => undefined);
      this.releases.update(service, r.number, { status: 'retired', containers: [] });
    }
  }

  private ensureNetwork(name: string): void {
    if (name === 'bridge' || name === 'host' || name === 'none') return;
    try {
      this.runtime.networks.inspect(name);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      this.runtime.networks.create(name);
    }
  }

  private lockFile(service: string): string {
    const dir = this.store.paths.deploy;
    fs.mkdirSync(dir, { recursive: true });
    return path.join(dir, `${service}.lock`);
  }

  private async withLock<T>(service: string, verb: string, fn: () => Promise<T>): Promise<T> {
    const held: FileLock | undefined = tryLock(this.lockFile(service), 'exclusive');
    if (!held) {
      throw new FailedPrecondition(
        `${verb} \`${service}\`: another deploy or rollback of \`${service}\` is in progress; nothing was changed`,
        { code: 'DEPLOY_BUSY' },
      );
    }
    try {
      return await fn();
    } finally {
      held.release();
    }
  }

  /** undefined: each container's own grace period (a compose `stop_grace_period`), else 10 s */
  private get stopTimeout(): number | undefined {
    return this.options.stopTimeout;
  }

  private progress(line: string): void {
    this.options.progress?.(line);
  }
}

/** Whether a warm release is still inside its window at `now`. */
export function isWarm(release: Release, now = new Date()): boolean {
  return (
    release.status === 'warm' && release.warmUntil !== null && Date.parse(release.warmUntil) > now.getTime()
  );
}

function notReady(
  release: Release,
  name: string,
  why: string,
  withinMs = release.spec.healthTimeoutMs,
): FailedPrecondition {
  return new FailedPrecondition(
    `deploy \`${release.service}\` release ${release.number}: replica ${name} not ready within ${withinMs / 1000} s (${why})`,
    { code: 'NOT_READY' },
  );
}

function author(): string {
  if (process.env['SKIFF_AUTHOR']) return process.env['SKIFF_AUTHOR'];
  return `${os.userInfo().username}@${os.hostname()}`;
}
