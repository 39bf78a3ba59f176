/**
 * One pipeline run on local services: the runtime in this process, the CSV (and its `_test.csv`)
 * uploaded, each stage followed until the promotion decision, the result read back from S3.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { z } from "zod";
import { EvaluationDecision, MODEL_TYPES, type ModelType } from "../../functions/common/contracts.ts";
import { evaluationKeys, rawKeys } from "../../functions/common/keys.ts";
import { getJsonIfExists, putBytes } from "../../functions/common/s3.ts";
import { ENSEMBLE } from "../../functions/evaluate/ensemble-request.ts";
import { generationOf } from "../../functions/evaluate/state.ts";
import type { DispatchResult } from "../../functions/train-dispatch/dispatch.ts";
import { ensureTrainerVenv, venvPython } from "../python-env.ts";
import { type Runtime, startRuntime } from "../runtime/runtime.ts";
import { type PipelineSummary, scoreboardTable, summarise } from "../runtime/summary.ts";
import { ensureLocalServices } from "../services/index.ts";
import type { Report } from "./events.ts";
import type { PipelineOptions } from "./options.ts";
import { reconcileRuns, redriveFinishedRuns } from "./redrive.ts";
import { waitFor } from "./wait.ts";
import { ownDispatch, type PipelineState, StageError, watchRuntime } from "./watch.ts";

export { StageError };

/** How often the runs are checked against what evaluate recorded while the decision is awaited. */
const RECONCILE_MS = 15_000;

export interface PipelineOutcome {
  summary: PipelineSummary | null;
  exitCode: number;
}

async function upload(runtime: Runtime, state: PipelineState, report: Report, file: string): Promise<void> {
  const raw = runtime.ctx.config.storage.buckets.raw;
  const key = rawKeys.series(state.identifier, basename(file));
  state.uploadedKeys.add(key);
  await putBytes(runtime.ctx.s3, raw, key, readFileSync(file), "text/csv");
  report({ step: "upload", state: "done", detail: `s3://${raw}/${key}` });
}

async function follow(
  runtime: Runtime,
  options: PipelineOptions,
  state: PipelineState,
  report: Report,
  started: number,
): Promise<PipelineSummary> {
  if (options.testFile) await upload(runtime, state, report, options.testFile);
  await upload(runtime, state, report, options.data);
  return followTraining(runtime, state, report, started + options.timeout * 1000, started);
}

/** The runs of a dispatch; the generation is made of the dispatched types' runs, not the ENSEMBLE evaluate asks for. */
function dispatchedRunIds(dispatch: DispatchResult, withEnsemble = false): string[] {
  return [...dispatch.dispatched, ...dispatch.skipped]
    .filter((r) => withEnsemble || r.model_type !== ENSEMBLE)
    .map((r) => r.run_id);
}

/**
 * From an uploaded series (its key in `state.uploadedKeys`) to the promotion decision: preprocess,
 * dispatch, the runs (redriven or reconciled when their events were missed), evaluate; the summary.
 */
export async function followTraining(
  runtime: Runtime,
  state: PipelineState,
  report: Report,
  deadline: number,
  started: number,
): Promise<PipelineSummary> {
  const { s3, config } = runtime.ctx;
  const pre = await waitFor("preprocess", "preprocess", deadline, state, report, () => state.preprocess);
  if (pre.status === "ignored") throw new StageError("preprocess", "the object was ignored");
  const dispatch = await waitFor("train-dispatch", "train-dispatch", deadline, state, report, () =>
    ownDispatch(state),
  );
  const artifacts = config.storage.buckets.artifacts;
  const runIds = dispatchedRunIds(dispatch);
  const generation = generationOf(runIds);
  await redriveFinishedRuns(runtime, state, report, pre.config_hash, generation, dispatch);
  report({ step: "evaluate", state: "running", detail: "scoring the candidates when every run has ended" });
  let reconciledAt = Date.now();
  const unrecorded = new Set<string>();
  await waitFor("the promotion decision", "evaluate", deadline, state, report, async () => {
    const published = await getJsonIfExists(
      s3,
      artifacts,
      evaluationKeys.publishedFor(state.identifier, pre.config_hash, generation),
      z.looseObject({ promoted: z.boolean() }),
    );
    if (published || Date.now() - reconciledAt < RECONCILE_MS) return published;
    reconciledAt = Date.now();
    await reconcileRuns(
      runtime,
      state,
      report,
      pre.config_hash,
      dispatchedRunIds(ownDispatch(state) ?? dispatch, true),
      unrecorded,
    );
    return null;
  });
  const decision = await getJsonIfExists(
    s3,
    artifacts,
    evaluationKeys.decisionFor(state.identifier, pre.config_hash, generation),
    EvaluationDecision,
  );
  if (decision) {
    report({
      step: "evaluate",
      state: "done",
      detail: `${decision.n_test_windows} test windows, policy ${decision.policy}`,
    });
    process.stderr.write(`\n${scoreboardTable(decision)}\n\n`);
    report({
      step: "promote",
      state: decision.promoted ? "done" : "skipped",
      detail: decision.reason,
    });
  }
  // the run evaluate added (the generation's ENSEMBLE) is in the summary too, also on a re-run that dispatched nothing
  const ownRuns = [
    ...new Set([...dispatchedRunIds(ownDispatch(state) ?? dispatch, true), ...(decision?.runs ?? [])]),
  ];
  return summarise(s3, config.storage, {
    identifier: state.identifier,
    configHash: pre.config_hash,
    skippedPreprocess: pre.status === "skipped_idempotent",
    skippedTraining: dispatch.skipped.map((s) => s.model_type as ModelType),
    decision,
    runIds: ownRuns,
    foreignFailures: state.foreignFailures,
    preprocessReport: pre.report,
    seconds: (Date.now() - started) / 1000,
  });
}

/** Own-run artifacts are recognised by the run id's prefix, other events by their identifier. */
function ownEvents(identifier: string) {
  const types = MODEL_TYPES.map((t) => t.toLowerCase()).join("|");
  const ownRun = new RegExp(`/${identifier.replace(/[.]/g, "\\.")}-(${types})-[0-9a-f]{8}-`);
  return (text: string, id: string | null) =>
    id ? id === identifier : ownRun.test(text) || text.includes(`"${identifier}"`);
}

/** Local services, the trainer venv and a runtime of every function with trainers, following `identifier`'s events. */
export async function startPipelineRuntime(identifier: string, report: Report): Promise<Runtime> {
  report({ step: "services", state: "running", detail: "Kafka, MinIO and the trainer venv" });
  await ensureLocalServices((line) => report({ step: "services", state: "progress", detail: line }));
  const python = venvPython(
    await ensureTrainerVenv((line) => report({ step: "services", state: "progress", detail: line })),
  );
  const concurrency = Number(process.env.TRAINER_CONCURRENCY ?? 2);
  const runtime = await startRuntime({
    groupSuffix: `cli-${identifier}-${process.pid}-${Date.now().toString(36)}`,
    startAt: "latest",
    accept: ownEvents(identifier),
    trainer: { python, concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 2 },
  });
  report({ step: "services", state: "done", detail: "services ready, runtime consumers joined" });
  return runtime;
}

/** A fresh follow state for `identifier`'s pipeline. */
export function pipelineState(identifier: string): PipelineState {
  return {
    identifier,
    uploadedKeys: new Set(),
    preprocess: null,
    dispatches: new Map(),
    failure: null,
    foreignFailures: 0,
  };
}

export async function runPipeline(options: PipelineOptions, report: Report): Promise<PipelineOutcome> {
  const started = Date.now();
  if (options.maxEpochs !== null) {
    const params = process.env.TRAIN_PARAMS ? JSON.parse(process.env.TRAIN_PARAMS) : {};
    process.env.TRAIN_PARAMS = JSON.stringify({ ...params, max_epochs: options.maxEpochs });
  }
  const runtime = await startPipelineRuntime(options.identifier, report);
  const state = pipelineState(options.identifier);
  const interrupt = () => {
    if (state.failure?.message.includes("interrupted")) return;
    report({
      step: "pipeline",
      state: "failed",
      detail: "interrupted: stopping trainers (their runs are marked _FAILED)",
    });
    state.failure = new StageError("pipeline", "interrupted");
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  watchRuntime(runtime, state, report);
  let summary: PipelineSummary | null = null;
  let exitCode = 0;
  try {
    summary = await follow(runtime, options, state, report, started);
    const failed = summary.runs.filter((r) => r.status !== "SUCCESS");
    if (failed.length) {
      exitCode = 1;
      report({
        step: "train",
        state: "failed",
        detail: failed.map((r) => `${r.model_type} (${r.error ?? r.status})`).join("; "),
      });
    }
  } catch (error) {
    exitCode = 1;
    const message =
      error instanceof StageError
        ? error.message
        : `stage pipeline failed: ${(error as Error).stack ?? error}`;
    process.stderr.write(`${message}\n`);
  } finally {
    await runtime.stop();
  }
  return { summary, exitCode };
}
