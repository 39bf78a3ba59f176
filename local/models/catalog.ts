/**
 * What the model-operations verbs read: runs in the artifacts bucket (`runs/<run_id>/model.json`,
 * `model.onnx`, `_SUCCESS`/`_FAILED`), champions (`<scope>/current.json`) and the latest evaluation
 * decision of each (identifier, config_hash).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  EvaluationDecision,
  ModelCard,
  PromotionPointer,
  type ScoreboardEntry,
} from "../../functions/common/contracts.ts";
import {
  evaluationKeys,
  GLOBAL_SCOPE,
  parseRunKey,
  promotionKeys,
  RUN_FILES,
  RUNS_PREFIX,
  runKeys,
} from "../../functions/common/keys.ts";
import { exists, getJsonIfExists, listKeys } from "../../functions/common/s3.ts";

export interface Buckets {
  artifacts: string;
  promotion: string;
}

export type RunState = "SUCCESS" | "FAILED" | "UNMARKED";

export interface RunInfo {
  run_id: string;
  card: ModelCard;
  state: RunState;
  has_model: boolean;
  /** The entry of the latest decision of its (identifier, config_hash) that lists it. */
  scored: ScoreboardEntry | null;
  /** Scopes whose `current.json` names it. */
  champion_of: string[];
}

export async function readCard(s3: S3Client, buckets: Buckets, runId: string): Promise<ModelCard | null> {
  return getJsonIfExists(s3, buckets.artifacts, runKeys.card(runId), ModelCard);
}

export async function runState(s3: S3Client, buckets: Buckets, runId: string): Promise<RunState> {
  if (await exists(s3, buckets.artifacts, runKeys.failed(runId))) return "FAILED";
  if (await exists(s3, buckets.artifacts, runKeys.success(runId))) return "SUCCESS";
  return "UNMARKED";
}

export function readChampion(
  s3: S3Client,
  buckets: Buckets,
  scope: string,
): Promise<PromotionPointer | null> {
  return getJsonIfExists(s3, buckets.promotion, promotionKeys.current(scope), PromotionPointer);
}

export function readLatestDecision(
  s3: S3Client,
  buckets: Buckets,
  identifier: string,
  configHash: string,
): Promise<EvaluationDecision | null> {
  return getJsonIfExists(
    s3,
    buckets.artifacts,
    evaluationKeys.decision(identifier, configHash),
    EvaluationDecision,
  );
}

/** Every run id with a card, from the artifacts bucket's `runs/` listing. */
async function runIds(s3: S3Client, buckets: Buckets): Promise<string[]> {
  const keys = await listKeys(s3, buckets.artifacts, RUNS_PREFIX);
  return keys
    .map(parseRunKey)
    .flatMap((run) => (run?.file === RUN_FILES.card ? [run.runId] : []))
    .sort();
}

/** One run in full, or null when it has no (valid) card. */
export async function describeRun(
  s3: S3Client,
  buckets: Buckets,
  runId: string,
  decisions = new Map<string, EvaluationDecision | null>(),
  champions = new Map<string, PromotionPointer | null>(),
): Promise<RunInfo | null> {
  const card = await readCard(s3, buckets, runId);
  if (!card) return null;
  const decisionKey = `${card.identifier}/${card.config_hash}`;
  if (!decisions.has(decisionKey))
    decisions.set(decisionKey, await readLatestDecision(s3, buckets, card.identifier, card.config_hash));
  const scored =
    decisions
      .get(decisionKey)
      ?.scoreboard.find((e) => e.run_id === runId && (e.kind === "candidate" || e.kind === "champion")) ??
    null;
  const champion_of: string[] = [];
  for (const scope of [card.identifier, GLOBAL_SCOPE]) {
    if (!champions.has(scope)) champions.set(scope, await readChampion(s3, buckets, scope));
    if (champions.get(scope)?.run_id === runId) champion_of.push(scope);
  }
  return {
    run_id: runId,
    card,
    state: await runState(s3, buckets, runId),
    has_model: await exists(s3, buckets.artifacts, runKeys.onnx(runId)),
    scored,
    champion_of,
  };
}

/** Every run (of `identifier` when given), newest first. */
export async function listRuns(s3: S3Client, buckets: Buckets, identifier?: string): Promise<RunInfo[]> {
  const decisions = new Map<string, EvaluationDecision | null>();
  const champions = new Map<string, PromotionPointer | null>();
  const out: RunInfo[] = [];
  for (const runId of await runIds(s3, buckets)) {
    const card = identifier ? await readCard(s3, buckets, runId) : null;
    if (identifier && card?.identifier !== identifier) continue;
    const info = await describeRun(s3, buckets, runId, decisions, champions);
    if (info) out.push(info);
  }
  return out.sort((a, b) => b.card.created_at.localeCompare(a.card.created_at));
}
