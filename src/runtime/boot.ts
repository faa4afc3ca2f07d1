/**
 * After the host booted (or whenever nothing ran them): every container whose restart policy
 * says it should be running — `always`, and `unless-stopped` unless the user stopped it — is
 * started, as Docker's daemon does when it starts. Containers never started are left alone,
 * and one container failing to start does not keep the others down.
 */
import type { ContainerRow, CreateOptions } from './records.js';
import type { Runtime } from './runtime.js';

export interface BootResult {
  started: ContainerRow[];
  failed: { row: ContainerRow; error: Error }[];
}

export async function bootContainers(runtime: Runtime): Promise<BootResult> {
  const started: ContainerRow[] = [];
  const failed: { row: ContainerRow; error: Error }[] = [];
  for (const stored of runtime.records.all()) {
    const row = runtime.refresh(stored);
    if (row.state === 'running' || row.started === null) continue;
    const policy = (JSON.parse(row.spec) as CreateOptions).restart ?? 'no';
    if (policy !== 'always' && !(policy === 'unless-stopped' && !runtime.stoppedByUser(row.id))) continue;
    try {
      started.push(await runtime.start(row.id));
    } catch (err) {
      failed.push({ row, error: err as Error });
    }
  }
  return { started, failed };
}
