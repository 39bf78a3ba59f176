/**
 * Turns the local runtime's outcomes and trainer events into pipeline events, and tells this pipeline's
 * failures (its upload, its config_hash, its runs) from other messages that failed (shown and counted).
 */
import type { ModelTrainingMessage, PreprocessReport } from "../../functions/common/contracts.ts";
import type { PreprocessResult, UploadResult } from "../../functions/preprocess/preprocess.ts";
import type { DispatchResult } from "../../functions/train-dispatch/dispatch.ts";
import type { Outcome } from "../runtime/consumer.ts";
import type { TrainerEvent } from "../runtime/local-trainer.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { Report } from "./events.ts";

export class StageError extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(`stage ${stage} failed: ${message}`);
  }
}

export interface PipelineState {
  identifier: string;
  uploadedKeys: Set<string>;
  preprocess: PreprocessResult | null;
  /** Dispatch results of this identifier by config_hash (another data set's may arrive first). */
  dispatches: Map<string, DispatchResult>;
  failure: StageError | null;
  /** Failed messages that were not this pipeline's (poison messages, other data sets' failures). */
  foreignFailures: number;
}

/** The dispatch of this pipeline's own data set, once both are known. */
export function ownDispatch(state: PipelineState): DispatchResult | null {
  const hash = configHashOf(state);
  return hash === null ? null : (state.dispatches.get(hash) ?? null);
}

function configHashOf(state: PipelineState): string | null {
  const pre = state.preprocess;
  return pre && pre.status !== "ignored" ? pre.config_hash : null;
}

/** Whether a failed input is about this pipeline's upload, config_hash or runs. */
function isOwn(state: PipelineState, input: unknown): boolean {
  if (!input || typeof input !== "object") return false;
  const fields = input as { key?: unknown; config_hash?: unknown; run_id?: unknown };
  if (typeof fields.key === "string" && state.uploadedKeys.has(fields.key)) return true;
  const hash = configHashOf(state);
  if (hash !== null && fields.config_hash === hash) return true;
  const runIds = new Set(ownDispatch(state)?.dispatched.map((r) => r.run_id) ?? []);
  if (typeof fields.run_id === "string" && runIds.has(fields.run_id)) return true;
  const runOfKey = typeof fields.key === "string" ? /^runs\/([^/]+)\//.exec(fields.key)?.[1] : undefined;
  return runOfKey !== undefined && runIds.has(runOfKey);
}

function onFailure(state: PipelineState, report: Report, o: Extract<Outcome<unknown>, { ok: false }>): void {
  if (isOwn(state, o.input)) {
    report({ step: "pipeline", state: "failed", detail: `${o.function}: ${o.error}` });
    state.failure ??= new StageError(o.function, o.error);
    return;
  }
  state.foreignFailures += 1;
  report({
    step: "pipeline",
    state: "warning",
    detail: `a message for ${o.function} failed${o.dlq ? " and went to the DLQ" : ""} (not this pipeline's; it goes on): ${o.error}`,
  });
}

/** What preprocess did, in one line: rows, duplicates, filled and clipped cells, features taken and left out. */
export function describeReport(r: PreprocessReport): string {
  const filled = Object.entries(r.missing_cells).map(([c, m]) => `${c} ${m.filled}`);
  const clipped = Object.entries(r.negatives_clipped).map(([c, n]) => `${c} ${n}`);
  return [
    `${r.rows_read} rows read`,
    `${r.duplicates_dropped} duplicates dropped`,
    filled.length ? `cells filled (${r.nan_policy}): ${filled.join(", ")}` : "no cell missing",
    ...(r.rows_dropped_missing ? [`${r.rows_dropped_missing} rows dropped for missing cells`] : []),
    ...(clipped.length ? [`negatives clipped to 0: ${clipped.join(", ")}`] : []),
    `${r.features.length} features (${r.feature_selection === "FEATURES" ? "FEATURES" : "the reference columns"})`,
    r.features_left_out.length ? `left out: ${r.features_left_out.join(", ")}` : "no column left out",
  ].join("; ");
}

function onPreprocess(state: PipelineState, report: Report, p: UploadResult): void {
  // a scoring upload of the same identifier (npm run score) is not this pipeline's data set
  if (p.status === "ignored" || "purpose" in p || p.identifier !== state.identifier) return;
  state.preprocess = p;
  const skipped = p.status === "skipped_idempotent";
  report({
    step: "preprocess",
    state: skipped ? "skipped" : "done",
    detail: `${skipped ? "already processed, " : ""}config_hash ${p.config_hash.slice(0, 12)}…; ${describeReport(p.report)}`,
  });
  const early = state.dispatches.get(p.config_hash);
  if (early) reportDispatch(report, early);
}

function onDispatch(state: PipelineState, report: Report, d: DispatchResult): void {
  if (d.identifier !== state.identifier) return;
  // evaluate's ask for the ENSEMBLE is a second dispatch of the same data set: its runs join the first's
  const earlier = state.dispatches.get(d.config_hash);
  state.dispatches.set(
    d.config_hash,
    earlier
      ? {
          ...earlier,
          dispatched: [...earlier.dispatched, ...d.dispatched],
          skipped: [...earlier.skipped, ...d.skipped],
        }
      : d,
  );
  if (d.config_hash === configHashOf(state)) reportDispatch(report, d);
}

function reportDispatch(report: Report, d: DispatchResult): void {
  for (const run of d.dispatched)
    report(
      run.launched
        ? {
            step: "train",
            state: "running",
            model_type: run.model_type,
            detail: `run ${run.run_id} on ${run.backend}`,
          }
        : {
            step: "train",
            state: "failed",
            model_type: run.model_type,
            detail: `launch failed: ${run.error}`,
          },
    );
  for (const s of d.skipped)
    report({
      step: "train",
      state: "skipped",
      model_type: s.model_type,
      detail: `same config trained before: run ${s.run_id}`,
    });
}

function onTrainComplete(state: PipelineState, report: Report, m: ModelTrainingMessage): void {
  if (m.identifier !== state.identifier || m.config_hash !== configHashOf(state)) return;
  const metrics = m.metrics
    ? `rmse ${m.metrics.rmse.toPrecision(4)}, mae ${m.metrics.mae.toPrecision(4)}`
    : "";
  report({
    step: "train",
    state: m.status === "SUCCESS" ? "done" : "failed",
    model_type: m.model_type,
    detail: m.error ?? metrics,
  });
}

export function watchRuntime(runtime: Runtime, state: PipelineState, report: Report): void {
  runtime.events.on("outcome", (o: Outcome<unknown>) => {
    if (!o.ok) return onFailure(state, report, o);
    const result = o.result as Record<string, unknown>;
    if (o.function === "preprocess") onPreprocess(state, report, o.result as UploadResult);
    else if (o.function === "train-dispatch") onDispatch(state, report, o.result as DispatchResult);
    else if (o.function === "train-complete")
      onTrainComplete(state, report, o.result as ModelTrainingMessage);
    else if (
      o.function === "evaluate" &&
      result.status === "waiting" &&
      result.config_hash === configHashOf(state)
    )
      report({
        step: "evaluate",
        state: "running",
        detail: `waiting for ${(result.pending as string[]).join(", ")}`,
      });
  });
  runtime.events.on("trainer", (e: TrainerEvent) => {
    if (e.phase === "epoch")
      report({
        step: "train",
        state: "progress",
        model_type: e.model_type,
        detail: `epoch ${e.epoch}${e.max_epochs ? `/${e.max_epochs}` : ""}${e.val_loss === null ? "" : `, val loss ${e.val_loss.toPrecision(4)}`}`,
      });
    else if (e.phase === "exit" && e.code !== 0)
      report({
        step: "train",
        state: "warning",
        model_type: e.model_type,
        detail: `trainer exited with code ${e.code} after ${e.seconds.toFixed(1)} s (log: ${e.log})`,
      });
  });
  runtime.trainers?.on("marker-failed", (e: { run_id: string; error: string }) =>
    report({ step: "train", state: "warning", detail: `could not mark run ${e.run_id} _FAILED: ${e.error}` }),
  );
}
