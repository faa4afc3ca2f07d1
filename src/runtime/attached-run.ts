/**
 * A container run in the foreground: its streams joined to the caller's before its process
 * starts (so no output is missed), its exit status returned, and with `--rm` the container
 * removed afterwards. Used by `skiff run` and by any program embedding skiff; the caller
 * keeps what belongs to a terminal (raw mode, window size) through `onAttached`.
 */
import type { Readable, Writable } from 'node:stream';
import { attach, type Attached } from './attach.js';
import type { Runtime } from './runtime.js';

export interface RunStreams {
  /** The container's stdin, when it is run interactively. */
  stdin?: Readable;
  stdout: Writable;
  /** Ignored with a terminal: a tty has one output. */
  stderr: Writable;
  tty?: boolean;
  /** Called once the streams are joined, before the process runs: for the window size. */
  onAttached?: (attached: Attached) => void;
  /** Called once the run is over, whatever its outcome: to restore a terminal. */
  onDetached?: () => void;
  /**
   * Called when the output has ended, before the exit is recorded: delivers what is still
   * buffered. A client that reads the exit elsewhere (the API's `wait`, on another
   * connection) then has all the output, as with dockerd, which also waits for its streams.
   */
  drain?: () => Promise<void>;
}

/** Starts container `id` attached to `streams` and resolves to its exit status. */
export async function runAttached(
  runtime: Runtime,
  id: string,
  streams: RunStreams,
  options: { rm?: boolean; onRemoveError?: (err: Error) => void } = {},
): Promise<number> {
  return (await startAttached(runtime, id, streams, options)).exited;
}

/**
 * Starts container `id` attached to `streams`; resolves once it runs, with `exited`, which
 * resolves to its exit status once its output has all arrived, the exit is recorded and (with
 * `rm`) the container is removed. For callers that must answer "started" before the exit: the
 * API service's `start` after an `attach`. A container that cannot start is removed, as a
 * failed `run` leaves nothing, unless `keepOnFailure` (`skiff start -a` of one that existed).
 */
export async function startAttached(
  runtime: Runtime,
  id: string,
  streams: RunStreams,
  options: { rm?: boolean; keepOnFailure?: boolean; onRemoveError?: (err: Error) => void } = {},
): Promise<{ exited: Promise<number> }> {
  let attached: Attached | undefined;
  try {
    await runtime.start(id, {
      beforeStart: (bundle) => {
        attached = attach(bundle, {
          stdout: streams.stdout,
          stderr: streams.tty ? streams.stdout : streams.stderr,
          stdin: streams.stdin,
        });
        streams.onAttached?.(attached);
      },
    });
  } catch (err) {
    attached?.close();
    streams.onDetached?.();
    if (!options.keepOnFailure) await runtime.remove(id, { force: true }).catch(() => undefined);
    throw err;
  }
  const exited = (async () => {
    try {
      await attached?.done;
      await streams.drain?.();
      return await runtime.wait(id);
    } finally {
      attached?.close();
      streams.onDetached?.();
      if (options.rm)
        await runtime.remove(id, { force: true }).catch((err: Error) => options.onRemoveError?.(err));
    }
  })();
  return { exited };
}
