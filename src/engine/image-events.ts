/** The image events Engine records in the store's journal (tag, pull, push, load, …). */
import { familiarString, parseReference } from '../oci/reference.js';
import type { Store } from '../store/store.js';

/** Records that `action` happened to image `id` (a digest or a reference), named `name`. */
export function recordImageEvent(store: Store, action: string, id: string, name?: string): void {
  const attributes: Record<string, string> = name ? { name: familiar(name) } : {};
  store.events.record({
    type: 'image',
    action,
    id: id.includes(':') && !id.startsWith('sha') ? familiar(id) : id,
    attributes,
  });
}

/** `busybox:latest` for `docker.io/library/busybox:latest`, as Docker shows names. */
function familiar(name: string): string {
  try {
    return familiarString(parseReference(name));
  } catch {
    return name;
  }
}
