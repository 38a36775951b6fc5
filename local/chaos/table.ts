/** The fault suite's closing table, one row per phase (also the README's reliability section). */
import type { PhaseResult } from "./run.js";

/** The table of the README's reliability section. */
export function chaosTable(phases: readonly PhaseResult[]): string {
  const rows = phases.map((phase) => [
    phase.phase,
    phase.injectedAt.length ? phase.injectedAt.map((s) => `${s.toFixed(1)} s`).join(", ") : "-",
    phase.recoveredAfter === null
      ? phase.injectedAt.length
        ? "not seen"
        : "-"
      : `${phase.recoveredAfter.toFixed(1)} s`,
    String(phase.delta.rsvpsLost),
    String(phase.delta.rsvpsCountedTwice),
    String(phase.delta.rawLost),
    String(phase.delta.rawDuplicated),
    String(phase.delta.deadLettersLost),
    String(phase.feedMissed),
    phase.api
      ? `${phase.api.requests} asked: ${phase.api.clientErrors} 4xx, ${phase.api.unavailable} 503, ${phase.api.serverErrors} 500, ${phase.api.hangs} hung, slowest ${(phase.api.slowestMs / 1000).toFixed(1)} s`
      : "-",
    phase.notes.join("; ") || "",
  ]);
  const header = [
    "fault",
    "injected at",
    "recovered after",
    "RSVPs lost",
    "RSVPs counted twice",
    "raw lost",
    "raw duplicated",
    "dead letters lost",
    "feed's own loss",
    "counts API",
    "notes",
  ];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
