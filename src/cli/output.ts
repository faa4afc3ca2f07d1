/** Where the CLI writes; tests pass their own to collect output. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

let closedReader = false;

/**
 * A reader that went away (`skiff diff … | head`) ends the output quietly, as with any Unix
 * tool: EPIPE is not an error of ours.
 */
function quietOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closedReader = true;
  });
}

quietOnEpipe(process.stdout);

export const processOutput: Output = {
  stdout: (text) => void (closedReader || process.stdout.write(text)),
  stderr: (text) => void process.stderr.write(text),
};
