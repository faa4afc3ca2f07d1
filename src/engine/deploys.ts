/**
 * The deploy verbs behind Engine (engine.ts keeps a short delegation for each): one service
 * from a spec, a project file brought up or taken down, what changed between two releases,
 * and each service's state. Loaded by the calls that use them, so no other verb parses the
 * project reader, the release diff or the proxy's status queries.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BuildOptions } from '../build/builder.js';
import type { Deployer, DeployerOptions } from '../deploy/deployer.js';
import { readProject, type Project } from '../deploy/project.js';
import { deployProject, downProject } from '../deploy/project-deploy.js';
import { diffReleases, type ReleaseDiff } from '../deploy/release-diff.js';
import type { Release, ServiceSpec } from '../deploy/releases.js';
import { serviceStatus, type ServiceStatus } from '../deploy/service-status.js';
import type { Digest } from '../oci/digest.js';
import { namesRegistry } from '../oci/reference.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { InvalidArgument, NotFound } from '../util/errors.js';

/** What the deploy verbs need of the Engine that calls them. */
export interface DeployParts {
  store: Store;
  runtime: Runtime;
  deployer(options?: DeployerOptions): Deployer;
  imageId(name: string): Digest;
  pull(name: string): Promise<unknown>;
  build(options: BuildOptions): Promise<Digest>;
}

export interface DeployOptions {
  /** The release's message; default: what changed. */
  message?: string;
  /** The deployer's progress lines ("web-8-1 ready", "traffic on release 8"). */
  progress?: (line: string) => void;
  /** One line per step around them ("app:2: not in the store, pulling", "web: building …"). */
  say?: (line: string) => void;
  /** Seconds an old replica gets between its stop signal and SIGKILL (default 10). */
  stopTimeout?: number;
  /** How long the release switched away from stays running, drained (default 10 min; 0: stopped at once). */
  keepWarmMs?: number;
}

export interface DownOptions {
  /** Remove the project's named volumes too (external ones stay). */
  volumes?: boolean;
  /** One line per removal ("removed service web"). */
  say?: (line: string) => void;
}

/** Deploys `spec` as the next release of `service`, its image pulled first when needed. */
export async function deployService(
  parts: DeployParts,
  service: string,
  spec: ServiceSpec,
  options: DeployOptions = {},
): Promise<Release> {
  const deployer = parts.deployer(deployerOptions(options));
  await ensureImage(parts, spec.image, options.say);
  return deployer.deploy(service, spec, { message: options.message });
}

/** Every service of the project file, dependencies first; images are built or pulled first. */
export async function deployProjectFile(
  parts: DeployParts,
  file: string,
  options: DeployOptions = {},
): Promise<void> {
  const project = await projectAt(file, 'deploy');
  const say = options.say ?? (() => undefined);
  await deployProject(
    project,
    {
      deployer: parts.deployer(deployerOptions(options)),
      runtime: parts.runtime,
      say,
      ensureImage: (image) => ensureImage(parts, image, say),
      build: async (b, image, service) => {
        say(`${service}: building ${image} from ${b.context}`);
        const id = await parts.build({
          context: b.context,
          dockerfile: readDockerfile(b.dockerfile, service),
          dockerfileName: path.basename(b.dockerfile),
          tags: [image],
          buildArgs: b.args,
          target: b.target,
        });
        say(`${service}: built ${image} (${id.slice(7, 19)})`);
      },
    },
    { message: options.message },
  );
}

/** The project's services, its networks no other container uses, and with `volumes` its volumes. */
export async function downProjectFile(
  parts: DeployParts,
  file: string,
  options: DownOptions = {},
): Promise<void> {
  const project = await projectAt(file, 'down');
  await downProject(
    project,
    { deployer: parts.deployer(), runtime: parts.runtime, say: options.say ?? (() => undefined) },
    { volumes: options.volumes },
  );
}

export function releaseDiff(parts: DeployParts, service: string, from: number, to: number): ReleaseDiff {
  const { releases } = parts.deployer();
  return diffReleases(parts.store, releases.find(service, from), releases.find(service, to));
}

export function serviceStatuses(parts: DeployParts): Promise<ServiceStatus[]> {
  const deployer = parts.deployer();
  return serviceStatus(deployer.releases, parts.runtime, deployer.proxy);
}

function deployerOptions(o: DeployOptions): DeployerOptions {
  return { progress: o.progress, stopTimeout: o.stopTimeout, keepWarmMs: o.keepWarmMs };
}

async function projectAt(file: string, verb: string): Promise<Project> {
  if (!fs.existsSync(file)) throw new InvalidArgument(`${verb}: project file \`${file}\` does not exist`);
  return readProject(file);
}

function readDockerfile(file: string, service: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgument(
      `build \`${service}\`: cannot read Dockerfile \`${file}\`: ${(err as NodeJS.ErrnoException).code ?? err}`,
      { cause: err },
    );
  }
}

/**
 * An image the store lacks is pulled first when its name says from where
 * (`registry.example.com/app:v2`, `127.0.0.1:5000/app:v2`); a bare `app:v2` is never looked
 * for on Docker Hub behind the user's back.
 */
async function ensureImage(parts: DeployParts, image: string, say?: (line: string) => void): Promise<void> {
  try {
    parts.imageId(image);
    return;
  } catch (err) {
    if (!(err instanceof NotFound)) throw err;
    if (!namesRegistry(image)) throw err;
  }
  say?.(`${image}: not in the store, pulling`);
  await parts.pull(image);
}
