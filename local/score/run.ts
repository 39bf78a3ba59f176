/**
 * One scoring run on local services: the runtime's preprocess and batch-inference in this process, the
 * CSV uploaded as `raw-data/<identifier>/score/<file>`, followed through preprocess (the champion's
 * configuration) and batch-inference to its `performance-eval` message.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { PerformanceEvalMessage } from "../../functions/common/contracts.ts";
import { rawScoreKey } from "../../functions/common/keys.ts";
import { putBytes } from "../../functions/common/s3.ts";
import type { ObjectRef } from "../../functions/common/s3-event.ts";
import type { UploadResult } from "../../functions/preprocess/preprocess.ts";
import type { ScorePreprocessResult } from "../../functions/preprocess/score.ts";
import type { Report } from "../pipeline/events.ts";
import { waitFor } from "../pipeline/wait.ts";
import { describeReport, StageError } from "../pipeline/watch.ts";
import type { Outcome } from "../runtime/consumer.ts";
import { type Runtime, startRuntime } from "../runtime/runtime.ts";
import { ensureLocalServices } from "../services/index.ts";
import type { ScoreOptions } from "./options.ts";

/** The LAST stdout line of `npm run score`. */
interface ScoreSummary
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
      const skipped = p.status === "skipped_idempotent";
      report({
        step: "preprocess",
        state: skipped ? "skipped" : "done",
        detail: `${skipped ? "already processed, " : ""}champion ${p.champion.run_id} (${p.champion.model_type}), window ${p.champion.window}, horizon ${p.champion.horizon}; ${describeReport(p.report)}`,
      });
    } else if (o.function === "batch-inference") {
      const e = o.result as PerformanceEvalMessage;
      state.evaluations.set(e.source.object_key, e);
    }
  });
}

async function startScoringRuntime(options: ScoreOptions, report: Report): Promise<Runtime> {
  report({ step: "services", state: "running", detail: "Kafka and MinIO" });
  try {
    await ensureLocalServices((line) => report({ step: "services", state: "progress", detail: line }));
    const { identifier } = options;
    const runtime = await startRuntime({
      functions: ["preprocess", "batch-inference"],
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
  };
}

export async function runScore(options: ScoreOptions, report: Report): Promise<ScoreOutcome> {
  const state: ScoreState = {
    identifier: options.identifier,
    key: rawScoreKey(options.identifier, basename(options.data)),
    preprocess: null,
    evaluations: new Map(),
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
    runtime = await startScoringRuntime(options, report);
    watchScoring(runtime, state, report);
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
