/**
 * A build's events as the classic builder prints them ("Step 2/5 : RUN …", " ---> 1a2b3c4d5e6f"):
 * what `skiff build --progress plain` writes and what the Docker API's `POST /build` streams,
 * whose clients read those lines (docker-py and compose need them).
 */
import type { BuildEvent } from './execute.js';

export interface ClassicOutputOptions {
  /** Say why each step missed the cache (`--explain-cache`). */
  explain?: boolean;
  /** Each made step's time after its ID. */
  timings?: boolean;
}

export function classicBuildLine(e: BuildEvent, options: ClassicOutputOptions = {}): string {
  switch (e.type) {
    case 'step':
      return `Step ${e.index}/${e.total} : ${e.text.split('\n')[0]}\n`;
    case 'cached':
      return ` ---> Using cache\n ---> ${e.imageId.slice(7, 19)}\n`;
    case 'miss':
      return options.explain ? ` ---> Cache miss: ${e.why}\n` : '';
    case 'done':
      return ` ---> ${e.imageId.slice(7, 19)}${options.timings && e.ms > 0 ? ` (${(e.ms / 1000).toFixed(2)}s)` : ''}\n`;
  }
}
