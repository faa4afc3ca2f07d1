/**
 * A container's events in the store's journal (create, start, die, kill, stop, destroy), with
 * the attributes Docker gives them: name, image, exit code, and the container's labels.
 */
import type { EventJournal } from '../store/events.js';
import type { ContainerRow, CreateOptions } from './records.js';

/** What it reports has already happened: a failure to record is only a notice. */
export function recordContainerEvent(
  journal: EventJournal,
  action: string,
  row: ContainerRow,
  extra: Record<string, string> = {},
  notice?: (text: string) => void,
): void {
  try {
    const labels = (JSON.parse(row.spec) as CreateOptions).labels ?? {};
    journal.record({
      type: 'container',
      action,
      id: row.id,
      attributes: { ...labels, name: row.name, image: row.image_name, ...extra },
    });
  } catch (err) {
    notice?.(`record event: ${(err as Error).message}`);
  }
}
