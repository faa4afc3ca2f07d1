/**
 * The build benchmarks' input: a six-step Dockerfile (RUN, RUN, COPY of 200 small files and
 * one 50 MB file, ENV, WORKDIR, CMD) over the side-by-side base image, and its context.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IMAGE } from './side-by-side.js';

export const DOCKERFILE = `FROM ${IMAGE}
RUN echo one > /one
RUN mkdir -p /app/data && echo two > /app/data/two
COPY . /app/src/
ENV MODE=production
WORKDIR /app
CMD ["ls", "/app/src"]
`;

/** Writes the context (Dockerfile, small/f0..f199.txt, big.bin) into `dir`. */
export function makeBuildContext(dir: string): void {
  fs.mkdirSync(path.join(dir, 'small'), { recursive: true });
  for (let i = 0; i < 200; i++)
    fs.writeFileSync(path.join(dir, 'small', `f${i}.txt`), `file ${i}\n`.repeat(20));
  fs.writeFileSync(path.join(dir, 'big.bin'), randomBytes(50 << 20));
  fs.writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
}
