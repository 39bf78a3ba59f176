/**
 * Pure: the scoreboard of one generation from what gather.ts scored. One row per run (scored, or
 * FAILED / MISSING / REFUSED with the reason), one per expected type no run reported, the
 * persistence baseline, the seasonal baseline, and the current champion when it was scored beside
 * the candidates.
 */
import type { ModelType, ScoreboardEntry } from "../common/contracts.ts";
import { rankable } from "./scoring.ts";
import type { RunState } from "./state.ts";

export type EntryBase = Pick<ScoreboardEntry, "run_id" | "model_type" | "kind">;

export function failedEntry(
  base: EntryBase,
  status: "FAILED" | "MISSING" | "REFUSED",
  error: string,
): ScoreboardEntry {
  return { ...base, status, score: null, rmse: null, mae: null, mse: null, error };
}

/** A successful run's row, and the time its model was made (ties between equal scores go to the newer). */
export interface ScoredRun {
  entry: ScoreboardEntry;
  created_at: string;
}

/** A candidate that may win: scored, with a finite score. */
export interface RankedCandidate {
  run_id: string;
  model_type: string;
  score: number;
  created_at: string;
  entry: ScoreboardEntry;
}

export interface ScoreboardInput {
  expected: readonly ModelType[];
  runs: readonly RunState[];
  /** The runs of this generation: the newest run of each expected type. */
  latest: ReadonlySet<string>;
  /** Every SUCCESS run, by run id. */
  scored: ReadonlyMap<string, ScoredRun>;
  baseline: ScoreboardEntry;
  /** Same time yesterday (seasonal.ts): reported, never ranked. */
  seasonal?: ScoreboardEntry;
  champion: ScoreboardEntry | null;
}

export interface Scoreboard {
  rows: ScoreboardEntry[];
  /** The candidates that may win, in scoreboard order. */
  ranked: RankedCandidate[];
}

/** The runs in the order they were first seen (the scoreboard's order, and the order they are scored in). */
export function inScoringOrder(runs: readonly RunState[]): RunState[] {
  return [...runs].sort((a, b) => a.first_seen.localeCompare(b.first_seen));
}

function unscoredRow(run: RunState): ScoreboardEntry {
  const base: EntryBase = { run_id: run.run_id, model_type: run.model_type, kind: "candidate" };
  return run.status === "FAILED"
    ? failedEntry(base, "FAILED", run.terminal?.error ?? "training failed")
    : failedEntry(base, "MISSING", "still running at the deadline");
}

export function buildScoreboard(input: ScoreboardInput): Scoreboard {
  const rows: ScoreboardEntry[] = [];
  const ranked: RankedCandidate[] = [];
  for (const run of inScoringOrder(input.runs)) {
    const scored = input.scored.get(run.run_id);
    if (run.status === "SUCCESS" && scored) {
      const { entry, created_at } = scored;
      rows.push(entry);
      if (rankable(entry))
        ranked.push({
          run_id: run.run_id,
          model_type: run.model_type,
          score: entry.score,
          created_at,
          entry,
        });
    } else if (input.latest.has(run.run_id)) {
      rows.push(unscoredRow(run));
    }
    // else: an earlier attempt superseded by a retry, not part of this generation
  }
  for (const type of input.expected) {
    if (!input.runs.some((r) => r.model_type === type))
      rows.push(
        failedEntry({ run_id: "-", model_type: type, kind: "candidate" }, "MISSING", "no run reported"),
      );
  }
  rows.push(input.baseline);
  if (input.seasonal) rows.push(input.seasonal);
  if (input.champion) rows.push(input.champion);
  return { rows, ranked };
}
