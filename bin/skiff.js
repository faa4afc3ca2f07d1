#!/usr/bin/env -S node --
// The bundled CLI (one file, loads in a fraction of the time of the module tree) when the
// build made it; the module tree otherwise.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(existsSync(bundle) ? bundle.href : '../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
