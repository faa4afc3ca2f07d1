/**
 * A project's deploy and its removal (`skiff deploy -f`, `skiff down`). Before any service
 * changes, everything that can fail without leaving partial state is done: images are built,
 * external networks and volumes are found, bind directories are made. Then each service, its
 * dependencies first, is deployed as its own release (left live when nothing changed), and one
 * whose dependency must be healthy starts only once that dependency's check passes.
 */
import fs from 'node:fs';
import type { Runtime } from '../runtime/runtime.js';
import { FailedPrecondition, NotFound } from '../util/errors.js';
import type { Deployer } from './deployer.js';
import type { Project, ProjectService } from './project.js';

export interface ProjectDeps {
  deployer: Deployer;
  runtime: Runtime;
  /** builds a service's `build` section into an image tagged `image` */
  build(build: NonNullable<ProjectService['build']>, image: string, service: string): Promise<void>;
  /** makes sure the store has `image` (pulls it when its name says from where) */
  ensureImage(image: string): Promise<void>;
  /** one line per step, for the user */
  say(line: string): void;
}

export async function deployProject(
  project: Project,
  deps: ProjectDeps,
  o: { message?: string } = {},
): Promise<void> {
  const { deployer, runtime } = deps;
  for (const n of project.networks.filter((x) => x.external)) {
    if (!runtime.networks.list().some((x) => x.name === n.name)) {
      throw new NotFound(
        `deploy: external network \`${n.name}\` does not exist (make it with \`skiff network create\`)`,
      );
    }
  }
  const volumes = new Set(runtime.volumes.list().map((v) => v.name));
  for (const v of project.volumes) {
    if (v.external && !volumes.has(v.name)) {
      throw new NotFound(
        `deploy: external volume \`${v.name}\` does not exist (make it with \`skiff volume create\`)`,
      );
    }
  }
  for (const s of project.services) {
    if (s.build) await deps.build(s.build, s.spec.image, s.name);
  }
  for (const dir of project.bindDirs) fs.mkdirSync(dir, { recursive: true });
  for (const v of project.volumes) if (!v.external) runtime.volumes.create(v.name, { ifMissing: true });
  for (const { name, spec, healthyFirst } of project.services) {
    for (const dep of healthyFirst ?? []) {
      deps.say(`${name}: waiting for ${dep} to be healthy`);
      await deployer.healthy(dep);
    }
    const live = deployer.releases.live(name);
    if (live && deployer.unchanged(live, spec)) {
      deps.say(`${name}: unchanged, release ${live.number} stays live`);
      continue;
    }
    await deps.ensureImage(spec.image);
    const release = await deployer.deploy(name, spec, { message: o.message });
    deps.say(`${name}: release ${release.number} live (${spec.image})`);
  }
}

/**
 * Removes the project's services — those the file names, and those an earlier version of it
 * deployed (their releases carry the project's name) — dependents first; then its networks
 * that no other container uses; and, when asked, its named volumes. External ones stay.
 */
export async function downProject(
  project: Project,
  deps: Pick<ProjectDeps, 'deployer' | 'runtime' | 'say'>,
  o: { volumes?: boolean } = {},
): Promise<void> {
  const { deployer, runtime } = deps;
  const names = project.services.map((s) => s.name).reverse();
  if (project.name !== undefined) {
    for (const s of deployer.releases.services()) {
      const history = deployer.releases.history(s.name);
      if (history[0]?.spec.project === project.name && !names.includes(s.name)) names.unshift(s.name);
    }
  }
  for (const name of names) {
    if (!deployer.releases.exists(name)) continue;
    await deployer.remove(name);
    deps.say(`removed service ${name}`);
  }
  const existing = new Set(runtime.networks.list().map((n) => n.name));
  for (const n of project.networks) {
    if (n.external || !existing.has(n.name) || ['bridge', 'host', 'none'].includes(n.name)) continue;
    try {
      runtime.networks.remove(n.name);
      deps.say(`removed network ${n.name}`);
    } catch (err) {
      // Another container (not the project's) still uses it: it stays, and the user is told.
      if (!(err instanceof FailedPrecondition)) throw err;
      deps.say(`kept network ${n.name}: ${err.message.replace(/^[^:]*: /, '')}`);
    }
  }
  if (!o.volumes) return;
  const volumes = new Set(runtime.volumes.list().map((v) => v.name));
  for (const v of project.volumes) {
    if (v.external || !volumes.has(v.name)) continue;
    runtime.volumes.remove(v.name);
    deps.say(`removed volume ${v.name}`);
  }
}
