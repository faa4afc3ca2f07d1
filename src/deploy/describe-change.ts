/** The one-line message a release gets when its deploy gives none: what changed, like a generated commit subject. */
import type { Release, ServiceSpec } from './releases.js';

/** The one-line "what changed" of a release, like a generated commit subject. */
export function describeChange(previous: Release | undefined, spec: ServiceSpec, imageId: string): string {
  if (!previous)
    return `first release: ${spec.image}, ${spec.replicas} replica${spec.replicas === 1 ? '' : 's'}`;
  const changes: string[] = [];
  const p = previous.spec;
  if (previous.imageId !== imageId) changes.push(`image ${p.image} → ${spec.image}`);
  else if (p.image !== spec.image) changes.push(`image name ${p.image} → ${spec.image} (same image)`);
  if (p.replicas !== spec.replicas) changes.push(`replicas ${p.replicas} → ${spec.replicas}`);
  if (JSON.stringify([...p.env].sort()) !== JSON.stringify([...spec.env].sort())) changes.push('env changed');
  if (JSON.stringify(p.port) !== JSON.stringify(spec.port)) changes.push('port changed');
  if (p.health !== spec.health) changes.push(`health ${p.health ?? 'none'} → ${spec.health ?? 'none'}`);
  if (JSON.stringify(p.command) !== JSON.stringify(spec.command)) changes.push('command changed');
  if (JSON.stringify(p.volumes) !== JSON.stringify(spec.volumes)) changes.push('volumes changed');
  // The rest (most of it only a compose file sets) by name.
  const keys: (keyof ServiceSpec)[] = [
    'network',
    'entrypoint',
    'aliases',
    'extraNetworks',
    'publish',
    'tmpfs',
    'user',
    'workdir',
    'labels',
    'restart',
    'stopSignal',
    'stopGraceSeconds',
    'healthcheck',
  ];
  const changedKeys = keys.filter((k) => JSON.stringify(p[k]) !== JSON.stringify(spec[k]));
  if (changedKeys.length > 0) changes.push(`${changedKeys.join(', ')} changed`);
  return changes.length > 0 ? changes.join(', ') : 'redeploy, nothing changed';
}
