/**
 * A release's replicas made and started: `<service>-<release>-<n>`, on the service's network
 * with the service's name as alias, labelled with their service and release. Each id is
 * recorded in the release row as soon as it exists, so an abandoned release leaves nothing.
 */
import { resolveImage } from '../image/image.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import type { Release, Releases } from './releases.js';

export async function startReplicas(
  store: Store,
  runtime: Runtime,
  releases: Releases,
  release: Release,
): Promise<string[]> {
  const { spec } = release;
  const ids: string[] = [];
  for (let i = 1; i <= spec.replicas; i++) {
    const name = `${release.service}-${release.number}-${i}`;
    const stale = runtime.records.get(name);
    if (stale) await runtime.remove(stale.id, { force: true });
    // The name as deployed when it still means this image (ps shows it), else the ID.
    const image = sameImage(store, release.imageName, release.imageId) ? release.imageName : release.imageId;
    const check = spec.healthcheck;
    const ms = (n: number | undefined) => (n === undefined ? undefined : `${n}ms`);
    const row = runtime.create({
      image,
      name,
      env: spec.env,
      network: spec.network,
      networkAliases: [release.service, ...(spec.aliases ?? [])],
      extraNetworks: spec.extraNetworks?.map((n) => ({
        name: n.name,
        aliases: [release.service, ...n.aliases],
      })),
      publish: spec.publish,
      command: spec.command,
      entrypoint: spec.entrypoint,
      volumes: spec.volumes,
      tmpfs: spec.tmpfs,
      user: spec.user,
      workdir: spec.workdir,
      restart: spec.restart ?? 'unless-stopped',
      stopSignal: spec.stopSignal,
      stopTimeout: spec.stopGraceSeconds,
      healthTest: check?.test,
      healthInterval: ms(check?.intervalMs),
      healthTimeout: ms(check?.timeoutMs),
      healthRetries: check?.retries,
      healthStartPeriod: ms(check?.startPeriodMs),
      labels: {
        ...spec.labels,
        ...(spec.project ? { 'io.skiff.project': spec.project } : {}),
        'io.skiff.service': release.service,
        'io.skiff.release': String(release.number),
      },
    });
    ids.push(row.id);
    releases.update(release.service, release.number, { containers: ids });
  }
  await Promise.all(ids.map((id) => runtime.start(id)));
  return ids;
}

function sameImage(store: Store, name: string, imageId: string): boolean {
  try {
    return resolveImage(store, name).imageId === imageId;
  } catch {
    return false;
  }
}
