/**
 * Registry credentials where Docker keeps them: `$DOCKER_CONFIG/config.json` (default
 * ~/.docker/config.json), either inline (`auths.<host>.auth`, base64 "user:password") or in a
 * credential helper (`credHelpers.<host>`, else `credsStore`): the program
 * `docker-credential-<name>` with the verbs get/store/erase, talking JSON on stdin/stdout
 * (docker-credential-helpers' protocol). The file is rewritten atomically and keeps every field
 * skiff does not know.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { FailedPrecondition, InvalidArgument, errnoCode } from '../../util/errors.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Docker Hub's credentials live under its v1 index URL, for historical reasons. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

export function configPath(): string {
  const dir = process.env['DOCKER_CONFIG'] ?? path.join(os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** The key a registry's entry has in config.json. */
export function serverKey(registry: string): string {
  return registry === 'docker.io' ? DOCKER_HUB_KEY : registry;
}

/** "https://host:5000/v2/" and "host:5000" name the same registry (Docker's ConvertToHostname). */
function hostOf(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

function readConfig(): ConfigFile {
  const file = configPath();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return {};
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as ConfigFile;
  } catch (err) {
    throw new InvalidArgument(`read \`${file}\`: malformed JSON: ${(err as Error).message}`);
  }
}

function writeConfig(config: ConfigFile): void {
  const file = configPath();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${JSON.stringify(config, null, '\t')}\n`, 0o600);
}

function helperFor(config: ConfigFile, registry: string): string | undefined {
  const key = serverKey(registry);
  return config.credHelpers?.[key] ?? config.credHelpers?.[registry] ?? config.credsStore;
}

function inlineEntry(
  config: ConfigFile,
  registry: string,
): [string, NonNullable<ConfigFile['auths']>[string]] | undefined {
  const want = hostOf(serverKey(registry));
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (key === serverKey(registry) || hostOf(key) === want) return [key, entry];
  }
  return undefined;
}

/** The credentials stored for `registry`, or undefined (then requests go anonymous). */
export async function getCredentials(registry: string): Promise<Credentials | undefined> {
  const config = readConfig();
  const helper = helperFor(config, registry);
  if (helper !== undefined) {
    const found = await runHelper(helper, 'get', serverKey(registry));
    if (found !== undefined) {
      const parsed = JSON.parse(found) as { Username?: string; Secret?: string };
      if (parsed.Secret) return { username: parsed.Username ?? '', password: parsed.Secret };
    }
  }
  const entry = inlineEntry(config, registry)?.[1];
  if (entry === undefined) return undefined;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new InvalidArgument(`read \`${configPath()}\`: auths.${registry}.auth is not user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined)
    return { username: entry.username, password: entry.password };
  return undefined;
}

/** Where `login` stored them: a helper's name, or the config file. */
export async function storeCredentials(registry: string, credentials: Credentials): Promise<string> {
  const config = readConfig();
  const helper = helperFor(config, registry);
  const key = serverKey(registry);
  if (helper !== undefined) {
    const input = JSON.stringify({
      ServerURL: key,
      Username: credentials.username,
      Secret: credentials.password,
    });
    await runHelper(helper, 'store', input);
    // An old inline entry would shadow nothing, but it is stale: drop it.
    const inline = inlineEntry(config, registry);
    if (inline !== undefined) {
      delete config.auths![inline[0]];
      writeConfig(config);
    }
    return `docker-credential-${helper}`;
  }
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  const inline = inlineEntry(config, registry);
  if (inline !== undefined) delete config.auths![inline[0]];
  config.auths = { ...config.auths, [key]: { auth } };
  writeConfig(config);
  return configPath();
}

/** Removes stored credentials; false when there were none. */
export async function eraseCredentials(registry: string): Promise<boolean> {
  const config = readConfig();
  let removed = false;
  const inline = inlineEntry(config, registry);
  if (inline !== undefined) {
    delete config.auths![inline[0]];
    writeConfig(config);
    removed = true;
  }
  const helper = helperFor(config, registry);
  if (helper !== undefined) {
    const erased = await runHelper(helper, 'erase', serverKey(registry));
    if (erased !== undefined) removed = true;
  }
  return removed;
}

/**
 * Runs `docker-credential-<helper> <verb>` with `input` on stdin. Returns stdout, or undefined
 * when the helper says it has no such credentials (its "credentials not found" answer).
 */
function runHelper(helper: string, verb: string, input: string): Promise<string | undefined> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [verb], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.once('error', (err) => {
      reject(
        errnoCode(err) === 'ENOENT'
          ? new FailedPrecondition(
              `credential helper \`${program}\`: not found on PATH (named in ${configPath()})`,
            )
          : err,
      );
    });
    child.once('close', (code) => {
      if (code === 0) resolve(stdout.trim());
      else if (/credentials not found/i.test(stdout + stderr)) resolve(undefined);
      else
        reject(
          new FailedPrecondition(
            `credential helper \`${program} ${verb}\`: exited ${code}: ${(stderr || stdout).trim() || 'no message'}`,
          ),
        );
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
