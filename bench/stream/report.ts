/**
 * The stream bench's figures: the closing table of figures against their targets (issue 12),
 * and the number formats and percentiles its lines use.
 */

export type Print = (line: string) => void;

/** One line of the closing table. */
export interface Row {
  what: string;
  figure: string;
  target: string;
  /** Whether the figure meets its target; null: no target. */
  met: boolean | null;
}

/** A whole number with thousands separators: 12,345. */
export const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The `p`th percentile of ascending `sorted` (nearest rank); NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** The rows as a table: what, figure, target, and whether it is met. */
export function printTable(rows: readonly Row[], print: Print): void {
  const width = Math.max(...rows.map((row) => row.what.length));
  const figureWidth = Math.max(...rows.map((row) => row.figure.length));
  print(`${"".padEnd(width)}  ${"figure".padEnd(figureWidth)}  target`);
  for (const row of rows)
    print(
      `${row.what.padEnd(width)}  ${row.figure.padEnd(figureWidth)}  ${row.target}${row.met === null ? "" : row.met ? "  met" : "  NOT met"}`,
    );
}
