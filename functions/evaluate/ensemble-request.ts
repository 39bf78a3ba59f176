/**
 * The ENSEMBLE step of an evaluation. Once every expected type of a generation is terminal, evaluate
 * asks train-dispatch for one ENSEMBLE of the generation's successful runs whose validation
 * predictions are out of sample (their cards say so): the data set's claim check again on
 * `training-data`, with `ensemble`. It decides once that run is terminal, or EVAL_DEADLINE_SECONDS
 * after it was first seen (or asked for, while unseen). The ENSEMBLE's run id is the generation's, so
 * evaluate finds it among the runs and train-dispatch's guard starts it at most once.
 * `decisions/<generation>.ensemble.json` (write-once) records the ask.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { StageContext } from "../common/context.ts";
import {
  type EnsembleMember,
  EnsembleRequest,
  ModelCard,
  type ModelType,
  ProcessedMeta,
  RunIdField,
  TOPICS,
  TrainingDataMessage,
} from "../common/contracts.ts";
import { publish } from "../common/kafka.ts";
import { evaluationKeys, processedKeys, runKeys } from "../common/keys.ts";
import { getJson, getJsonIfExists, putIfAbsent } from "../common/s3.ts";
import type { EvaluateSettings } from "./settings.ts";
import type { RunState } from "./state.ts";

export const ENSEMBLE: ModelType = "ENSEMBLE";
const MAX_MEMBERS = 8;

/** `<identifier>-ensemble-<hash8>-<generation>`: the one ENSEMBLE run of a generation (≤ 95 characters). */
export function ensembleRunId(identifier: string, configHash: string, generation: string): string {
  return `${identifier.slice(0, 60)}-ensemble-${configHash.slice(0, 8)}-${generation}`;
}

/** `decisions/<generation>.ensemble.json`: evaluate asked for this ENSEMBLE, of these members, then. */
export const EnsembleAsk = z.object({
  run_id: RunIdField,
  ensemble: EnsembleRequest,
  requested_at: z.string(),
});
export type EnsembleAsk = z.infer<typeof EnsembleAsk>;

/** Pure: the generation's members, in expected order: SUCCESS runs whose validation is out of sample. */
export function chooseMembers(
  latest: readonly RunState[],
  outOfSample: ReadonlySet<string>,
): EnsembleMember[] {
  const members: EnsembleMember[] = [];
  for (const { run_id, model_type, status } of latest)
    if (status === "SUCCESS" && model_type !== "ENSEMBLE" && outOfSample.has(run_id))
      members.push({ run_id, model_type });
  return members.slice(0, MAX_MEMBERS);
}

export type EnsembleStage =
  /** Decide now; `runId` is the ENSEMBLE that belongs on the scoreboard (null: none was asked for). */
  | { step: "decide"; runId: string | null; deadlinePassed: boolean }
  /** Asked for and not terminal yet; `seen` once its RUNNING (or terminal) status was recorded. */
  | { step: "wait"; runId: string; seen: boolean }
  /** Not asked for yet: choose the members (they need the cards) and ask, or decide without one. */
  | { step: "ask"; runId: string };

export interface StageInput {
  enabled: boolean;
  runId: string;
  runs: readonly RunState[];
  ask: EnsembleAsk | null;
  deadlineSeconds: number;
  now: Date;
}

/** Pure: where the generation's ENSEMBLE stands. */
export function ensembleStage(input: StageInput): EnsembleStage {
  const { runId, ask } = input;
  if (!input.enabled) return { step: "decide", runId: null, deadlinePassed: false };
  const run = input.runs.find((r) => r.run_id === runId);
  if (run && run.status !== "RUNNING") return { step: "decide", runId, deadlinePassed: false };
  const since = run?.first_seen ?? ask?.requested_at;
  if (since === undefined) return { step: "ask", runId };
  const deadlinePassed = input.now.getTime() - Date.parse(since) >= input.deadlineSeconds * 1000;
  return deadlinePassed ? { step: "decide", runId, deadlinePassed } : { step: "wait", runId, seen: !!run };
}

/** The runs whose card says their validation predictions are out of sample (an unreadable card: not). */
async function outOfSampleRuns(
  s3: S3Client,
  bucket: string,
  latest: readonly RunState[],
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const run of latest) {
    if (run.status !== "SUCCESS") continue;
    const card = await getJsonIfExists(s3, bucket, runKeys.card(run.run_id), ModelCard).catch(() => null);
    if (card?.validation?.out_of_sample === true) out.add(run.run_id);
  }
  return out;
}

export async function readAsk(
  s3: S3Client,
  bucket: string,
  identifier: string,
  configHash: string,
  generation: string,
): Promise<EnsembleAsk | null> {
  return getJsonIfExists(
    s3,
    bucket,
    evaluationKeys.ensembleFor(identifier, configHash, generation),
    EnsembleAsk,
  );
}

/** Publishes the data set's claim check with `ensemble` (train-dispatch's guard makes a repeat harmless). */
async function publishAsk(ctx: StageContext, identifier: string, configHash: string, ask: EnsembleAsk) {
  const meta = await getJson(
    ctx.s3,
    ctx.config.storage.buckets.processed,
    processedKeys(identifier, configHash).meta,
    ProcessedMeta,
  );
  const claim = { ...meta.claim_check, ensemble: ask.ensemble };
  await publish(ctx.producer, TOPICS.trainingData, TrainingDataMessage, claim, identifier);
  ctx.logger.info("evaluate_ensemble_requested", {
    identifier,
    config_hash: configHash,
    generation: ask.ensemble.generation,
    run_id: ask.run_id,
    members: ask.ensemble.members,
  });
}

export interface Generation {
  identifier: string;
  configHash: string;
  generation: string;
  latest: readonly RunState[];
  runs: readonly RunState[];
}

/**
 * The ENSEMBLE step: `decide` (with the ENSEMBLE to score, if any) or `wait`. While the asked-for run
 * is unseen, every call publishes the ask again (a lost publish or a dead-lettered one is retried).
 */
export async function ensembleStep(
  ctx: StageContext,
  g: Generation,
  settings: EvaluateSettings,
  now = new Date(),
): Promise<Exclude<EnsembleStage, { step: "ask" }>> {
  const bucket = ctx.config.storage.buckets.artifacts;
  const { identifier, configHash, generation } = g;
  let ask = settings.buildEnsemble ? await readAsk(ctx.s3, bucket, identifier, configHash, generation) : null;
  const stage = ensembleStage({
    enabled: settings.buildEnsemble,
    runId: ensembleRunId(identifier, configHash, generation),
    runs: g.runs,
    ask,
    deadlineSeconds: settings.deadlineSeconds,
    now,
  });
  if (stage.step === "decide" || (stage.step === "wait" && stage.seen)) return stage;
  if (stage.step === "ask") {
    const members = chooseMembers(g.latest, await outOfSampleRuns(ctx.s3, bucket, g.latest));
    if (members.length < 2) {
      ctx.logger.info("evaluate_ensemble_skipped", {
        identifier,
        config_hash: configHash,
        generation,
        reason: `${members.length} member(s) with out-of-sample validation predictions, 2 needed`,
      });
      return { step: "decide", runId: null, deadlinePassed: false };
    }
    const fresh: EnsembleAsk = {
      run_id: stage.runId,
      ensemble: { generation, members },
      requested_at: now.toISOString(),
    };
    const key = evaluationKeys.ensembleFor(identifier, configHash, generation);
    ask = (await putIfAbsent(ctx.s3, bucket, key, JSON.stringify(fresh)))
      ? fresh
      : await getJson(ctx.s3, bucket, key, EnsembleAsk);
  }
  if (ask) await publishAsk(ctx, identifier, configHash, ask);
  return { step: "wait", runId: stage.runId, seen: false };
}

/** For the sweeper: the generation's ENSEMBLE was asked for and is not terminal past the deadline. */
export async function ensembleOverdue(
  s3: S3Client,
  bucket: string,
  g: Omit<Generation, "latest">,
  deadlineSeconds: number,
  now: Date,
): Promise<boolean> {
  const ask = await readAsk(s3, bucket, g.identifier, g.configHash, g.generation);
  if (!ask) return false;
  const stage = ensembleStage({
    enabled: true,
    runId: ask.run_id,
    runs: g.runs,
    ask,
    deadlineSeconds,
    now,
  });
  return stage.step === "decide" && stage.deadlinePassed;
}
