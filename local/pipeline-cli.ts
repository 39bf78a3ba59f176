/**
 * `npm run pipeline -- --data <csv> [--identifier <id>] [--max-epochs N] [--timeout SECONDS]`
 *
 * Brings the local services up if needed, starts the local runtime in this process, uploads the CSV
 * (and its `<name>_test.csv` companion, first) to the raw bucket, shows each stage's progress on
 * stderr, waits for the promotion decision, and prints one JSON summary as its LAST stdout line.
 * On failure it exits non-zero naming the stage that failed.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { z } from "zod";
import {
  EvaluationDecision,
  IdentifierField,
  type ModelTrainingMessage,
  type ModelType,
} from "../functions/common/contracts.ts";
import { exists, getJsonIfExists, putBytes } from "../functions/common/s3.ts";
import { evaluationKeys, generationOf } from "../functions/evaluate/state.ts";
import type { PreprocessResult } from "../functions/preprocess/preprocess.ts";
import { completeRun } from "../functions/train-complete/complete.ts";
import type { DispatchResult } from "../functions/train-dispatch/dispatch.ts";
import { ensureTrainerVenv, venvPython } from "./python-env.ts";
import type { Outcome } from "./runtime/consumer.ts";
import type { TrainerEvent } from "./runtime/local-trainer.ts";
import { type Runtime, startRuntime } from "./runtime/runtime.ts";
import { type PipelineSummary, scoreboardTable, summarise } from "./runtime/summary.ts";
import { ensureLocalServices } from "./services/index.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// stdout carries exactly one thing, the summary; everything else (logs included) goes to stderr.
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

const say = (line: string) => process.stderr.write(`${line}\n`);

class StageError extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(`stage ${stage} failed: ${message}`);
  }
}

function usage(): never {
  say(
    "usage: npm run pipeline -- --data <file.csv> [--identifier <id>] [--max-epochs N] [--timeout SECONDS]",
  );
  process.exit(2);
}

function parseCli() {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      identifier: { type: "string" },
      "max-epochs": { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help || !values.data) usage();
  const data = values.data as string;
  if (!existsSync(data)) throw new StageError("input", `--data: file '${data}' does not exist`);
  if (!data.toLowerCase().endsWith(".csv"))
    throw new StageError("input", `--data: '${data}' is not a .csv file`);
  if (/_test\.csv$/i.test(data))
    throw new StageError("input", `--data: pass the main file, not its _test.csv companion`);
  const identifier = values.identifier ?? basename(data).replace(/\.csv$/i, "");
  const id = IdentifierField.safeParse(identifier);
  if (!id.success)
    throw new StageError(
      "input",
      `--identifier: '${identifier}' must use letters, digits, '.', '_' and '-' only`,
    );
  const maxEpochs = values["max-epochs"] === undefined ? null : Number(values["max-epochs"]);
  if (maxEpochs !== null && (!Number.isInteger(maxEpochs) || maxEpochs < 1)) {
    throw new StageError("input", `--max-epochs must be a positive integer, got '${values["max-epochs"]}'`);
  }
  const timeout = values.timeout === undefined ? 1800 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new StageError("input", `--timeout must be a number of seconds > 0`);
  const testFile = join(dirname(data), `${basename(data).replace(/\.csv$/i, "")}_test.csv`);
  return { data, identifier, maxEpochs, timeout, testFile: existsSync(testFile) ? testFile : null };
}

interface Progress {
  preprocess: PreprocessResult | null;
  dispatch: DispatchResult | null;
  failure: StageError | null;
}

function watch(runtime: Runtime, identifier: string, progress: Progress): void {
  const t0 = Date.now();
  const at = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
  runtime.events.on("outcome", (o: Outcome<unknown>) => {
    if (!o.ok) {
      say(`${at()} [${o.function}] FAILED after ${o.attempts} attempt(s): ${o.error}`);
      if (o.function !== "evaluate" || progress.dispatch)
        progress.failure ??= new StageError(o.function, o.error);
      return;
    }
    const r = o.result as Record<string, unknown>;
    if (o.function === "preprocess") {
      const p = o.result as PreprocessResult;
      if (p.status === "ignored") return;
      if (p.identifier !== identifier) return;
      progress.preprocess = p;
      say(
        `${at()} [preprocess] ${p.status === "skipped_idempotent" ? "skip_idempotent (already processed)" : "processed"} config_hash=${p.config_hash.slice(0, 12)}…`,
      );
    } else if (o.function === "train-dispatch") {
      const d = o.result as DispatchResult;
      const pre = progress.preprocess;
      if (
        d.identifier !== identifier ||
        (pre && pre.status !== "ignored" && d.config_hash !== pre.config_hash)
      )
        return;
      progress.dispatch = d;
      for (const run of d.dispatched)
        say(
          `${at()} [train-dispatch] ${run.model_type} → ${run.backend} run ${run.run_id}${run.launched ? "" : ` (launch failed: ${run.error})`}`,
        );
      for (const s of d.skipped)
        say(`${at()} [train-dispatch] ${s.model_type} skipped (duplicate config; run ${s.run_id})`);
    } else if (o.function === "train-complete") {
      const m = o.result as ModelTrainingMessage;
      say(
        `${at()} [train-complete] ${m.model_type} ${m.status}${m.metrics ? ` rmse=${m.metrics.rmse.toPrecision(4)} mae=${m.metrics.mae.toPrecision(4)}` : ""}${m.error ? ` error=${m.error}` : ""}`,
      );
    } else if (o.function === "evaluate") {
      if (r.status === "waiting") say(`${at()} [evaluate] waiting for ${(r.pending as string[]).join(", ")}`);
      else if (r.status === "decided") say(`${at()} [evaluate] decided`);
    }
  });
  runtime.events.on("trainer", (e: TrainerEvent) => {
    if (e.phase === "start") say(`${at()} [trainer] ${e.model_type} started (${e.run_id})`);
    if (e.phase === "exit")
      say(
        `${at()} [trainer] ${e.model_type} exited with code ${e.code} after ${e.seconds.toFixed(1)}s (log: ${e.log})`,
      );
  });
}

async function waitFor<T>(
  what: string,
  stage: string,
  deadline: number,
  progress: Progress,
  probe: () => Promise<T | null> | T | null,
): Promise<T> {
  for (;;) {
    if (progress.failure) throw progress.failure;
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new StageError(stage, `timed out waiting for ${what}`);
    await delay(250); // polling interval of a condition with a deadline
  }
}

/**
 * Runs that already held the guard (skipped) may have finished while no runtime was listening (an
 * interrupted run, or state from an older version): unless this set of runs already has its decision,
 * their terminal status is published again through train-complete, so evaluate sees it. Idempotent.
 */
async function redriveFinishedRuns(
  runtime: Runtime,
  identifier: string,
  hash: string,
  generation: string,
  dispatch: DispatchResult,
): Promise<void> {
  const { s3, config } = runtime.ctx;
  const artifacts = config.storage.buckets.artifacts;
  if (dispatch.skipped.length === 0) return;
  if (await exists(s3, artifacts, evaluationKeys.publishedFor(identifier, hash, generation))) return;
  for (const s of dispatch.skipped) {
    const marker = (await exists(s3, artifacts, `runs/${s.run_id}/_SUCCESS`))
      ? "_SUCCESS"
      : (await exists(s3, artifacts, `runs/${s.run_id}/_FAILED`))
        ? "_FAILED"
        : null;
    if (!marker) {
      say(
        `[train-dispatch] ${s.model_type} run ${s.run_id} (dispatched earlier) has not finished yet: waiting for it`,
      );
      continue;
    }
    say(
      `[train-complete] re-publishing the ${marker.slice(1)} of ${s.model_type} run ${s.run_id} (finished earlier, not yet decided on)`,
    );
    await completeRun(
      { bucket: artifacts, key: `runs/${s.run_id}/${marker}`, size: null, eTag: null, eventName: "redrive" },
      runtime.ctx,
    );
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const args = parseCli();
  const deadline = started + args.timeout * 1000;
  await ensureLocalServices(say);
  const python = venvPython(ensureTrainerVenv(say));
  say(`[local] services and trainer venv ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  if (args.maxEpochs !== null) {
    const params = process.env.TRAIN_PARAMS ? JSON.parse(process.env.TRAIN_PARAMS) : {};
    process.env.TRAIN_PARAMS = JSON.stringify({ ...params, max_epochs: args.maxEpochs });
  }
  const concurrency = Number(process.env.TRAINER_CONCURRENCY ?? 2);
  const ownRun = new RegExp(`/${args.identifier.replace(/[.]/g, "\\.")}-(gru|lstm|prophet)-[0-9a-f]{8}-`);
  const runtime = await startRuntime({
    groupSuffix: `cli-${args.identifier}-${process.pid}-${Date.now().toString(36)}`,
    startAt: "latest",
    // Only this identifier's events: by identifier, or (run artifacts) by the run id's prefix.
    accept: (text, id) =>
      id ? id === args.identifier : ownRun.test(text) || text.includes(`"${args.identifier}"`),
    trainer: { python, concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 2 },
  });
  say(`[runtime] consumers joined (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  const progress: Progress = { preprocess: null, dispatch: null, failure: null };
  let interrupted = false;
  const interrupt = () => {
    if (interrupted) return;
    interrupted = true;
    say("[pipeline] interrupted: stopping trainers (their runs are marked _FAILED) and the runtime");
    progress.failure ??= new StageError("pipeline", "interrupted");
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  watch(runtime, args.identifier, progress);
  const { s3, config } = runtime.ctx;
  let summary: PipelineSummary | null = null;
  let exitCode = 0;
  try {
    const raw = config.storage.buckets.raw;
    if (args.testFile) {
      const key = `${args.identifier}/${basename(args.testFile)}`;
      await putBytes(s3, raw, key, readFileSync(args.testFile), "text/csv");
      say(`[upload] s3://${raw}/${key}`);
    }
    const key = `${args.identifier}/${basename(args.data)}`;
    await putBytes(s3, raw, key, readFileSync(args.data), "text/csv");
    say(`[upload] s3://${raw}/${key}`);

    const pre = await waitFor("preprocess", "preprocess", deadline, progress, () => progress.preprocess);
    if (pre.status === "ignored") throw new StageError("preprocess", "the object was ignored");
    const hash = pre.config_hash;
    const dispatch = await waitFor(
      "train-dispatch",
      "train-dispatch",
      deadline,
      progress,
      () => progress.dispatch,
    );
    const artifacts = config.storage.buckets.artifacts;
    // The decision on exactly these runs (the ones just dispatched and the ones that already held the guard).
    const runIds = [...dispatch.dispatched.map((r) => r.run_id), ...dispatch.skipped.map((r) => r.run_id)];
    const generation = generationOf(runIds);
    await redriveFinishedRuns(runtime, args.identifier, hash, generation, dispatch);
    await waitFor("the promotion decision", "evaluate", deadline, progress, () =>
      getJsonIfExists(
        s3,
        artifacts,
        evaluationKeys.publishedFor(args.identifier, hash, generation),
        z.looseObject({ promoted: z.boolean() }),
      ),
    );
    const decision = await getJsonIfExists(
      s3,
      artifacts,
      evaluationKeys.decisionFor(args.identifier, hash, generation),
      EvaluationDecision,
    );
    if (decision) {
      say(
        `\n[evaluate] scoreboard on ${decision.n_test_windows} test windows (policy ${decision.policy}):\n${scoreboardTable(decision)}\n[evaluate] ${decision.promoted ? "promoted" : "not promoted"}: ${decision.reason}`,
      );
    }
    summary = await summarise(s3, config.storage, {
      identifier: args.identifier,
      configHash: hash,
      skippedPreprocess: pre.status === "skipped_idempotent",
      skippedTraining: dispatch.skipped.map((s) => s.model_type as ModelType),
      decision,
      runIds,
      seconds: (Date.now() - started) / 1000,
    });
    const failed = summary.runs.filter((r) => r.status !== "SUCCESS");
    if (failed.length) {
      exitCode = 1;
      say(
        `stage train failed for ${failed.map((r) => `${r.model_type} (${r.error ?? r.status})`).join("; ")}`,
      );
    }
  } catch (error) {
    exitCode = 1;
    say(
      error instanceof StageError
        ? error.message
        : `stage pipeline failed: ${(error as Error).stack ?? error}`,
    );
  } finally {
    await runtime.stop();
  }
  if (summary) writeStdout(`${JSON.stringify(summary)}\n`);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    say(
      error instanceof StageError
        ? error.message
        : `stage pipeline failed: ${(error as Error).stack ?? error}`,
    );
    process.exit(1);
  },
);
