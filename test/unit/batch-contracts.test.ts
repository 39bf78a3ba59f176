/** The batch-scoring contracts: the `inference-data` claim check, the `performance-eval` message, a result row. */
import { describe, expect, it } from "vitest";
import {
  ALL_TOPICS,
  batchResultRow,
  ContractError,
  InferenceDataMessage,
  PerformanceEvalMessage,
  parseContract,
} from "../../functions/common/contracts.ts";
import { processedScoreKey } from "../../functions/common/keys.ts";

const HASH = "b".repeat(64);
const claim = {
  bucket: "processed-data",
  object_key: processedScoreKey("PobleSec", HASH),
  config_hash: HASH,
  identifier: "PobleSec",
  v: 1,
  size: 10,
  purpose: "score",
};
const m = { mae: 1, rmse: 2, mse: 4 };
const evaluation = {
  identifier: "PobleSec",
  run_id: "run-1",
  model_type: "GRU",
  config_hash: HASH,
  n_windows: 3,
  metrics: { down: m },
  persistence: { down: m },
  ratio: { down: 1 },
  drift: { down: { live_ratio: 1, reference_ratio: 0.8, change: 1.25 } },
  output_uri: "s3://inference-logs/PobleSec/20261201/batch-run-1-x.parquet",
  seconds: 0.5,
  source: { bucket: "processed-data", object_key: claim.object_key, config_hash: HASH },
  windows_skipped: { gap: 0, non_finite: 0 },
};

const errorOf = (schema: Parameters<typeof parseContract>[0], value: unknown): string => {
  try {
    parseContract(schema, "message", value);
  } catch (error) {
    expect(error).toBeInstanceOf(ContractError);
    return (error as Error).message;
  }
  throw new Error("expected a contract error");
};

describe("batch-scoring contracts", () => {
  it("performance-eval is a topic (so local:up and the CDK app create it and its DLQ)", () => {
    expect(ALL_TOPICS).toContain("performance-eval");
    expect(ALL_TOPICS).toContain("inference-data");
  });

  it("an inference-data claim check needs purpose 'score' and names each bad field", () => {
    expect(InferenceDataMessage.parse(claim).purpose).toBe("score");
    const { purpose: _, ...withoutPurpose } = claim;
    expect(errorOf(InferenceDataMessage, withoutPurpose)).toContain("purpose:");
    expect(errorOf(InferenceDataMessage, { ...claim, purpose: "train" })).toContain("purpose:");
    expect(errorOf(InferenceDataMessage, { ...claim, config_hash: "x", size: -1 })).toMatch(
      /config_hash: .*; size: /,
    );
  });

  it("a performance-eval message validates metrics per target and the output URI", () => {
    expect(PerformanceEvalMessage.parse(evaluation).n_windows).toBe(3);
    expect(errorOf(PerformanceEvalMessage, { ...evaluation, output_uri: "inference-logs/x" })).toContain(
      "output_uri:",
    );
    expect(
      errorOf(PerformanceEvalMessage, { ...evaluation, metrics: { down: { ...m, mae: -1 } } }),
    ).toContain("metrics.down.mae:");
    expect(errorOf(PerformanceEvalMessage, { ...evaluation, ratio: { down: "1" } })).toContain("ratio.down:");
  });

  it("a batch result row has ts, step, each target's forecast and its actual (or null)", () => {
    const row = batchResultRow(["down", "up"]);
    const ok = { ts: new Date(0), step: 1, down: 1, down_actual: null, up: 2, up_actual: 3 };
    expect(row.parse(ok)).toEqual(ok);
    expect(row.safeParse({ ...ok, up_actual: undefined }).success).toBe(false);
    expect(row.safeParse({ ...ok, step: 0 }).success).toBe(false);
    expect(row.safeParse({ ...ok, extra: 1 }).success).toBe(false);
  });
});
