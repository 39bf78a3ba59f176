/** Pure: the decision record of one generation, and the pointer it carries when it promotes. */
import {
  EvaluationDecision,
  type ModelType,
  type PromotionPointer,
  type PromotionPolicy,
  type ScoreboardEntry,
} from "../common/contracts.ts";
import { promotionKeys, runKeys } from "../common/keys.ts";
import { s3Uri } from "../common/s3.ts";
import type { PolicyDecision } from "./policy.ts";
import type { RankedCandidate } from "./scoreboard.ts";

/** Where a run's model and card live in the artifacts bucket. */
export function modelUris(artifacts: string, runId: string): { model_uri: string; card_uri: string } {
  return {
    model_uri: s3Uri(artifacts, runKeys.onnx(runId)),
    card_uri: s3Uri(artifacts, runKeys.card(runId)),
  };
}

export interface RecordInput {
  identifier: string;
  configHash: string;
  /** The runs decided on (the newest run of each expected type) and the generation they make. */
  generation: string;
  runIds: readonly string[];
  decidedAt: string;
  policy: PromotionPolicy;
  expected: readonly ModelType[];
  deadlinePassed: boolean;
  nTestWindows: number;
  scoreboard: ScoreboardEntry[];
  baseline: ScoreboardEntry;
  best: RankedCandidate | null;
  outcome: PolicyDecision;
  previous: PromotionPointer | null;
  artifactsBucket: string;
}

function pointerFor(input: RecordInput, best: RankedCandidate): PromotionPointer {
  const { model_uri, card_uri } = modelUris(input.artifactsBucket, best.run_id);
  return {
    model_uri,
    run_id: best.run_id,
    model_type: best.model_type as ModelType,
    config_hash: input.configHash,
    identifier: input.identifier,
    scope: input.identifier,
    score: best.score,
    card_uri,
    promoted_at: input.decidedAt,
    rmse: best.entry.rmse,
    mae: best.entry.mae,
    mse: best.entry.mse,
  };
}

export function buildDecisionRecord(input: RecordInput): EvaluationDecision {
  const { identifier, configHash, best, outcome } = input;
  const pointer = outcome.promote && best ? pointerFor(input, best) : null;
  return EvaluationDecision.parse({
    v: 1,
    identifier,
    config_hash: configHash,
    generation: input.generation,
    runs: [...input.runIds].sort(),
    decided_at: input.decidedAt,
    policy: input.policy,
    expected: input.expected,
    deadline_passed: input.deadlinePassed,
    n_test_windows: input.nTestWindows,
    scoreboard: input.scoreboard,
    baseline: input.baseline,
    winner: best ? { run_id: best.run_id, model_type: best.model_type, score: best.score } : null,
    promoted: outcome.promote,
    reason: outcome.reason,
    pointer,
    previous: input.previous,
    history_key: pointer ? promotionKeys.history(identifier, configHash, input.decidedAt) : null,
  });
}
