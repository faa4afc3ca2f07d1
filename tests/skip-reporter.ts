/**
 * A reporter for node's test runner that writes one line per skipped test — its file, its
 * name and the reason — so scripts/test.sh can fail a CI run that skipped anything not on
 * tests/allowed-skips.txt. Used beside the spec reporter, never instead of it.
 */
interface TestEvent {
  type: string;
  data: { name?: string; file?: string; skip?: boolean | string };
}

export default async function* skipReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, skip } = event.data;
    if (skip === undefined || skip === false) continue;
    const reason = typeof skip === 'string' ? skip : '';
    yield `${JSON.stringify({ file: file ?? '', name: name ?? '', reason })}\n`;
  }
}
