/**
 * The MAE ratio (model / persistence) per target a model had at promotion: from evaluate's decision
 * record (`evaluations/<identifier>/<config_hash>/decision.json`: the run's scoreboard entry and the
 * baseline, on the same test windows), else from the batch message's card-based `reference_ratio`.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { EvaluationDecision, type PerformanceEvalMessage } from "../common/contracts.ts";
import { evaluationKeys } from "../common/keys.ts";
import { getJsonIfExists } from "../common/s3.ts";

export interface Reference {
  source: "decision" | "card";
  ratios: Record<string, number | null>;
}

export async function referenceRatios(
  s3: S3Client,
  artifactsBucket: string,
  message: PerformanceEvalMessage,
): Promise<Reference> {
  const decision = await getJsonIfExists(
    s3,
    artifactsBucket,
    evaluationKeys.decision(message.identifier, message.config_hash),
    EvaluationDecision,
  );
  const entry = decision?.scoreboard.find((e) => e.run_id === message.run_id && e.status === "SCORED");
  const baseline = decision?.baseline.per_target;
  if (entry?.per_target && baseline) {
    const ratios: Record<string, number | null> = {};
    for (const target of Object.keys(message.ratio)) {
      const m = entry.per_target[target];
      const p = baseline[target];
      ratios[target] = m && p && p.mae > 0 ? m.mae / p.mae : null;
    }
    return { source: "decision", ratios };
  }
  return {
    source: "card",
    ratios: Object.fromEntries(Object.entries(message.drift).map(([t, d]) => [t, d.reference_ratio])),
  };
}
