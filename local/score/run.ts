/**
 * One scoring run on local services: the runtime's preprocess, batch-inference and monitor in this
 * process, the CSV uploaded as `raw-data/<identifier>/score/<file>`, followed through preprocess (the
 * champion's configuration) and batch-inference to its `performance-eval` message and the monitor's
 * verdict. With RETRAIN_ON_DRIFT=1 the runtime runs every function with trainers, and a retraining the
 * monitor starts is followed to its promotion decision like `npm run pipeline`.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { PerformanceEvalMessage } from "../../functions/common/contracts.ts";
import { rawKeys, rawScoreKey } from "../../functions/common/keys.ts";
import { putBytes } from "../../functions/common/s3.ts";
import type { ObjectRef } from "../../functions/common/s3-event.ts";
import type { MonitorResult } from "../../functions/monitor/monitor.ts";
import { loadMonitorSettings } from "../../functions/monitor/settings.ts";
import type { UploadResult } from "../../functions/preprocess/preprocess.ts";
import type { ScorePreprocessResult } from "../../functions/preprocess/score.ts";
import type { Report } from "../pipeline/events.ts";
import { followTraining, pipelineState, startPipelineRuntime } from "../pipeline/run.ts";
import { waitFor } from "../pipeline/wait.ts";
import { describeReport, type PipelineState, StageError, watchRuntime } from "../pipeline/watch.ts";
import type { Outcome } from "../runtime/consumer.ts";
import { type Runtime, startRuntime } from "../runtime/runtime.ts";
import type { PipelineSummary } from "../runtime/summary.ts";
import { ensureLocalServices } from "../services/index.ts";
import type { ScoreOptions } from "./options.ts";

/** The LAST stdout line of `npm run score`. */
export interface ScoreSummary
  extends Pick<
    PerformanceEvalMessage,
    | "identifier"
    | "run_id"
    | "model_type"
    | "n_windows"
    | "output_uri"
    | "metrics"
    | "persistence"
    | "ratio"
    | "drift"
  > {
  /** From the upload to the performance-eval message. */
  seconds: number;
  /** Forecasts (windows x horizon) per second of batch-inference's own time. */
  forecasts_per_s: number;
  /** The monitor's verdict: drift record, and the retraining it started (RETRAIN_ON_DRIFT=1). */
  monitor: {
    status: MonitorResult["status"];
    drift_uri: string | null;
    retraining: { series_uri: string; started: boolean; pipeline: PipelineSummary | null } | null;
  };
}

export interface ScoreOutcome {
  summary: ScoreSummary | null;
  exitCode: number;
}

interface ScoreState {
  identifier: string;
  key: string;
  preprocess: ScorePreprocessResult | null;
  /** performance-eval messages of this identifier by the scored object's key. */
  evaluations: Map<string, PerformanceEvalMessage>;
  /** monitor's results by the scored result's output_uri. */
  verdicts: Map<string, MonitorResult>;
  /** The retraining pipeline's state, when RETRAIN_ON_DRIFT=1. */
  retraining: PipelineState | null;
  failure: StageError | null;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** A failure is this run's when it is about its upload, or about the identifier's scoring object. */
function isOwn(state: ScoreState, o: Extract<Outcome<unknown>, { ok: false }>): boolean {
  const input = (o.input ?? {}) as Partial<ObjectRef> & { identifier?: unknown; object_key?: unknown };
  if (o.function === "preprocess") return input.key === state.key;
  const own = state.preprocess?.claim.object_key;
  return input.identifier === state.identifier && (own === undefined || input.object_key === own);
}

function watchScoring(runtime: Runtime, state: ScoreState, report: Report): void {
  runtime.events.on("outcome", (o: Outcome<unknown>) => {
    if (!o.ok) {
      const own = isOwn(state, o);
      report({
        step: "pipeline",
        state: own ? "failed" : "warning",
        detail: `${o.function}${own ? "" : " (not this run's)"}: ${o.error}`,
      });
      if (own) state.failure ??= new StageError(o.function, o.error);
      return;
    }
    if (o.function === "preprocess" && (o.input as ObjectRef).key === state.key) {
      const p = o.result as UploadResult;
      if (p.status === "ignored" || !("purpose" in p)) return;
      state.preprocess = p;
      // the series a drift would upload: its preprocess outcome is this run's from now on
      state.retraining?.uploadedKeys.add(rawKeys.retrain(state.identifier, p.champion.run_id));
      const skipped = p.status === "skipped_idempotent";
      report({
        step: "preprocess",
        state: skipped ? "skipped" : "done",
        detail: `${skipped ? "already processed, " : ""}champion ${p.champion.run_id} (${p.champion.model_type}), window ${p.champion.window}, horizon ${p.champion.horizon}; ${describeReport(p.report)}`,
      });
    } else if (o.function === "batch-inference") {
      const e = o.result as PerformanceEvalMessage;
      state.evaluations.set(e.source.object_key, e);
    } else if (o.function === "monitor") {
      state.verdicts.set((o.input as PerformanceEvalMessage).output_uri, o.result as MonitorResult);
    }
  });
}

async function startScoringRuntime(
  options: ScoreOptions,
  report: Report,
  retrain: boolean,
): Promise<Runtime> {
  try {
    if (retrain) return await startPipelineRuntime(options.identifier, report);
    report({ step: "services", state: "running", detail: "Kafka and MinIO" });
    await ensureLocalServices((line) => report({ step: "services", state: "progress", detail: line }));
    const { identifier } = options;
    const runtime = await startRuntime({
      functions: ["preprocess", "batch-inference", "monitor"],
      groupSuffix: `score-${identifier}-${process.pid}-${Date.now().toString(36)}`,
      startAt: "latest",
      accept: (text, id) => (id ? id === identifier : text.includes(`"${identifier}"`)),
      trainer: null,
    });
    report({ step: "services", state: "done", detail: "services ready, runtime consumers joined" });
    return runtime;
  } catch (error) {
    throw new StageError("services", (error as Error).message);
  }
}

async function follow(runtime: Runtime, options: ScoreOptions, state: ScoreState, report: Report) {
  const { s3, config } = runtime.ctx;
  const uploaded = Date.now();
  const deadline = uploaded + options.timeout * 1000;
  await putBytes(s3, config.storage.buckets.raw, state.key, readFileSync(options.data), "text/csv");
  report({ step: "upload", state: "done", detail: `s3://${config.storage.buckets.raw}/${state.key}` });
  report({ step: "preprocess", state: "running", detail: "with the champion's training configuration" });
  const pre = await waitFor("preprocess", "preprocess", deadline, state, report, () => state.preprocess);
  report({ step: "score", state: "running", detail: `s3://${pre.claim.bucket}/${pre.claim.object_key}` });
  const evaluation = await waitFor(
    "performance-eval",
    "batch-inference",
    deadline,
    state,
    report,
    () => state.evaluations.get(pre.claim.object_key) ?? null,
  );
  const forecasts = evaluation.n_windows * pre.champion.horizon;
  const ratios = Object.entries(evaluation.ratio).map(([t, r]) => `${t} ${r === null ? "-" : r.toFixed(3)}`);
  report({
    step: "score",
    state: "done",
    detail: `${evaluation.n_windows} windows in ${evaluation.seconds.toFixed(2)} s; MAE / persistence MAE: ${ratios.join(", ")}; ${evaluation.output_uri}`,
  });
  const verdict = await waitFor(
    "the monitor's verdict",
    "monitor",
    deadline,
    state,
    report,
    () => state.verdicts.get(evaluation.output_uri) ?? null,
  );
  const monitor = await followVerdict(runtime, options, state, report, verdict);
  const { identifier, run_id, model_type, n_windows, output_uri, metrics, persistence, ratio, drift } =
    evaluation;
  return {
    identifier,
    run_id,
    model_type,
    n_windows,
    output_uri,
    metrics,
    persistence,
    ratio,
    drift,
    seconds: round((Date.now() - uploaded) / 1000, 3),
    forecasts_per_s: evaluation.seconds > 0 ? round(forecasts / evaluation.seconds, 1) : 0,
    monitor,
  };
}

/** Reports the monitor's verdict and follows the retraining it started to its promotion decision. */
async function followVerdict(
  runtime: Runtime,
  options: ScoreOptions,
  state: ScoreState,
  report: Report,
  verdict: MonitorResult,
): Promise<ScoreSummary["monitor"]> {
  const noRetraining = (detail: string) => {
    for (const step of ["train", "evaluate", "promote"] as const) report({ step, state: "skipped", detail });
  };
  if (verdict.status === "ok") {
    report({ step: "monitor", state: "done", detail: `no drift (reference: the ${verdict.reference})` });
    if (state.retraining) noRetraining("no drift");
    return { status: "ok", drift_uri: null, retraining: null };
  }
  const promotion = runtime.ctx.config.storage.buckets.promotion;
  const driftUri = `s3://${promotion}/${verdict.key}`;
  const drifted = Object.entries(verdict.event.targets)
    .filter(([, t]) => t.drifted)
    .map(([name, t]) => `${name} x${(t.change ?? 0).toFixed(2)}`);
  report({
    step: "monitor",
    state: "warning",
    detail: `drift past x${verdict.event.threshold} of the ratio at promotion: ${drifted.join(", ")}; ${driftUri}`,
  });
  const retraining = verdict.retraining;
  if (!retraining || !state.retraining) {
    report({ step: "monitor", state: "done", detail: "RETRAIN_ON_DRIFT is off: no retraining" });
    return { status: "drift", drift_uri: driftUri, retraining: null };
  }
  if (!retraining.started) {
    noRetraining(`this champion's retraining started earlier: ${retraining.uri}`);
    return {
      status: "drift",
      drift_uri: driftUri,
      retraining: { series_uri: retraining.uri, started: false, pipeline: null },
    };
  }
  report({
    step: "upload",
    state: "done",
    detail: `retraining series ${retraining.uri} (${retraining.rows} rows)`,
  });
  const started = Date.now();
  const pipeline = await followTraining(
    runtime,
    state.retraining,
    report,
    started + options.timeout * 1000,
    started,
  );
  return {
    status: "drift",
    drift_uri: driftUri,
    retraining: { series_uri: retraining.uri, started: true, pipeline },
  };
}

export async function runScore(options: ScoreOptions, report: Report): Promise<ScoreOutcome> {
  const retrain = loadMonitorSettings(process.env).retrainOnDrift;
  const state: ScoreState = {
    identifier: options.identifier,
    key: rawScoreKey(options.identifier, basename(options.data)),
    preprocess: null,
    evaluations: new Map(),
    verdicts: new Map(),
    retraining: retrain ? pipelineState(options.identifier) : null,
    failure: null,
  };
  let runtime: Runtime | null = null;
  const interrupt = () => {
    report({ step: "pipeline", state: "failed", detail: "interrupted" });
    state.failure ??= new StageError("score", "interrupted");
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    runtime = await startScoringRuntime(options, report, retrain);
    watchScoring(runtime, state, report);
    if (state.retraining) watchRuntime(runtime, state.retraining, report);
    return { summary: await follow(runtime, options, state, report), exitCode: 0 };
  } catch (error) {
    const message =
      error instanceof StageError ? error.message : `stage score failed: ${(error as Error).stack ?? error}`;
    process.stderr.write(`${message}\n`);
    return { summary: null, exitCode: 1 };
  } finally {
    await runtime?.stop();
  }
}
