/** The pipeline's result for one (identifier, config_hash), read back from S3 (state of record). */
import type { S3Client } from "@aws-sdk/client-s3";
import type { StorageConfig } from "../../functions/common/config.ts";
import {
  type EvaluationDecision,
  type ModelType,
  type PreprocessReport,
  RunRecord,
  type ScoreboardEntry,
} from "../../functions/common/contracts.ts";
import { runKeys } from "../../functions/common/keys.ts";
import { getJsonIfExists } from "../../functions/common/s3.ts";
import { loadRunStates } from "../../functions/evaluate/state.ts";
import { table } from "../table.ts";

export interface RunSummary {
  model_type: ModelType;
  run_id: string;
  status: "RUNNING" | "SUCCESS" | "FAILED";
  seconds: number | null;
  metrics: { score: number | null; rmse: number | null; mae: number | null; mse: number | null } | null;
  error?: string;
}

export interface PipelineSummary {
  identifier: string;
  config_hash: string;
  skipped: { preprocess: boolean; training: ModelType[] };
  runs: RunSummary[];
  baseline: {
    score: number | null;
    rmse: number | null;
    mae: number | null;
    mse: number | null;
    n_test_windows: number;
  } | null;
  promoted: { run_id: string; model_type: ModelType; score: number } | null;
  decision: string | null;
  /** What preprocess did (rows, duplicates, filled cells, features taken and left out). */
  preprocess_report: PreprocessReport | null;
  /** Every candidate and baseline the decision scored (per-target metrics in raw units). */
  scoreboard: ScoreboardEntry[];
  /** Messages that failed while this pipeline ran but were not its own (shown, counted, not fatal). */
  foreign_failures: number;
  seconds: number;
}

const metricsOf = (e: ScoreboardEntry) => ({ score: e.score, rmse: e.rmse, mae: e.mae, mse: e.mse });

export async function summarise(
  s3: S3Client,
  storage: StorageConfig,
  args: {
    identifier: string;
    configHash: string;
    skippedPreprocess: boolean;
    skippedTraining: ModelType[];
    decision: EvaluationDecision | null;
    /** The runs of this pipeline run (others of the same config, e.g. superseded attempts, are left out). */
    runIds?: string[];
    foreignFailures?: number;
    preprocessReport?: PreprocessReport | null;
    seconds: number;
  },
): Promise<PipelineSummary> {
  const bucket = storage.buckets.artifacts;
  const all = await loadRunStates(s3, bucket, args.identifier, args.configHash);
  const states = args.runIds ? all.filter((r) => args.runIds?.includes(r.run_id)) : all;
  const runs: RunSummary[] = [];
  for (const state of states.sort((a, b) => a.model_type.localeCompare(b.model_type))) {
    const record = await getJsonIfExists(s3, bucket, runKeys.record(state.run_id), RunRecord);
    const start = Date.parse(record?.created_at ?? state.first_seen);
    const seconds = state.finished_at ? Math.round((Date.parse(state.finished_at) - start) / 100) / 10 : null;
    const scored = args.decision?.scoreboard.find((e) => e.run_id === state.run_id && e.kind === "candidate");
    const reported = state.terminal?.metrics;
    runs.push({
      model_type: state.model_type,
      run_id: state.run_id,
      status: state.status,
      seconds,
      metrics:
        scored && scored.status === "SCORED"
          ? metricsOf(scored)
          : reported
            ? { score: null, ...reported }
            : null,
      ...(state.terminal?.error ? { error: state.terminal.error } : {}),
    });
  }
  const d = args.decision;
  return {
    identifier: args.identifier,
    config_hash: args.configHash,
    skipped: { preprocess: args.skippedPreprocess, training: args.skippedTraining },
    runs,
    baseline: d ? { ...metricsOf(d.baseline), n_test_windows: d.n_test_windows } : null,
    promoted:
      d?.promoted && d.winner
        ? { run_id: d.winner.run_id, model_type: d.winner.model_type, score: d.winner.score }
        : null,
    decision: d?.reason ?? null,
    preprocess_report: args.preprocessReport ?? null,
    scoreboard: d?.scoreboard ?? [],
    foreign_failures: args.foreignFailures ?? 0,
    seconds: Math.round(args.seconds * 10) / 10,
  };
}

/** The scoreboard as a fixed-width table: candidates, champion and the persistence baseline side by side. */
export function scoreboardTable(decision: EvaluationDecision): string {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "-" : v.toPrecision(6));
  const rows = [
    ["kind", "model", "run_id", "status", "score", "rmse", "mae", "mse", ""],
    ...decision.scoreboard.map((e) => [
      e.kind,
      e.model_type,
      e.run_id,
      e.status,
      fmt(e.score),
      fmt(e.rmse),
      fmt(e.mae),
      fmt(e.mse),
      decision.promoted && decision.winner?.run_id === e.run_id && e.kind === "candidate"
        ? "<- promoted"
        : (e.error ?? "").slice(0, 60),
    ]),
  ];
  return table(rows);
}
