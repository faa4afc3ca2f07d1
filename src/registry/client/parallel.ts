/**
 * Bounded parallelism that fails as a whole: the first error aborts the other workers (through
 * the signal they were given) and is thrown only after every worker has stopped, so the caller's
 * clean-up never races a worker still writing.
 */
import { mapLimit } from '../../image/layer-blob.js';

export async function allOrNothing<T, R>(
  items: readonly T[],
  limit: number,
  outer: AbortSignal | undefined,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const controller = new AbortController();
  const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
  let failure: { error: unknown } | undefined;
  const results = await mapLimit(items, limit, async (item, index) => {
    if (failure !== undefined) return undefined as R;
    try {
      return await fn(item, index, signal);
    } catch (error) {
      failure ??= { error };
      controller.abort();
      return undefined as R;
    }
  });
  if (failure !== undefined) throw failure.error;
  return results;
}
