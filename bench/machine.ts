import { cpus, totalmem } from "node:os";

/** The machine a figure was measured on, printed with every benchmark. */
export function describeMachine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Runs `work` until at least `minMs` have passed; returns operations per second. */
export function throughput(
  work: () => number,
  minMs = 2000,
): { perSecond: number; operations: number; ms: number } {
  work(); // warm-up
  let operations = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    operations += work();
    elapsed = performance.now() - started;
  }
  return { perSecond: (operations / elapsed) * 1000, operations, ms: elapsed };
}
