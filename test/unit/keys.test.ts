import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  evaluationKeys,
  guardKeys,
  inferenceLogKeys,
  parseEvaluationKey,
  parseGuardKey,
  parseInferenceLogKey,
  parseMarkerKey,
  parseProcessedKey,
  parsePromotionKey,
  parseRawKey,
  parseRunKey,
  processedKeys,
  processedScoreKey,
  promotionKeys,
  RUN_FILES,
  rawKeys,
  rawScoreKey,
  runKeys,
  sidecarKey,
} from "../../functions/common/keys.ts";

const HASH = "ab".repeat(32);
const GEN = "0123456789abcdef";

describe("raw-data keys", () => {
  it("builds and parses series, test companions and score uploads", () => {
    expect(rawKeys.series("PobleSec", "PobleSec.csv")).toBe("PobleSec/PobleSec.csv");
    expect(rawKeys.testCompanion("PobleSec", "PobleSec.csv")).toBe("PobleSec/PobleSec_test.csv");
    expect(rawScoreKey("PobleSec", "new.csv")).toBe("PobleSec/score/new.csv");
    expect(parseRawKey(rawKeys.series("P", "a.csv"))).toEqual({
      kind: "series",
      identifier: "P",
      file: "a.csv",
    });
    expect(parseRawKey(rawKeys.testCompanion("P", "a.csv"))).toEqual({
      kind: "test",
      identifier: "P",
      file: "a_test.csv",
    });
    expect(parseRawKey(rawScoreKey("P", "b.CSV"))).toEqual({ kind: "score", identifier: "P", file: "b.CSV" });
  });

  it("refuses other shapes", () => {
    for (const key of ["a.csv", "P/a.txt", "P/x/y.csv", "P/score/x/y.csv", "x y/a.csv", "-P/a.csv", "P/"])
      expect(parseRawKey(key), key).toBeNull();
  });
});

describe("processed-data keys", () => {
  it("round-trips training sets, score sets and their sidecars", () => {
    const keys = processedKeys("P", HASH);
    expect(keys).toEqual({
      prefix: `P/${HASH}/`,
      train: `P/${HASH}/train.parquet`,
      test: `P/${HASH}/test.parquet`,
      meta: `P/${HASH}/.meta.json`,
    });
    expect(parseProcessedKey(keys.train)).toEqual({
      purpose: "train",
      identifier: "P",
      configHash: HASH,
      file: "train.parquet",
    });
    expect(sidecarKey(keys.test)).toBe(keys.meta);
    const score = processedScoreKey("P", HASH);
    expect(score).toBe(`P/score/${HASH}/score.parquet`);
    expect(parseProcessedKey(score)).toEqual({
      purpose: "score",
      identifier: "P",
      configHash: HASH,
      file: "score.parquet",
    });
    expect(parseProcessedKey(sidecarKey(score))?.file).toBe(".meta.json");
  });

  it("refuses other shapes", () => {
    for (const key of [
      `P/${HASH}/other.parquet`,
      "P/abc/train.parquet",
      `P/score/${HASH}/train.parquet`,
      `${HASH}/train.parquet`,
    ])
      expect(parseProcessedKey(key), key).toBeNull();
  });
});

describe("model-artifacts keys", () => {
  it("round-trips run files and markers", () => {
    expect(runKeys.prefix("r-1")).toBe("runs/r-1/");
    expect(runKeys.card("r-1")).toBe("runs/r-1/model.json");
    expect(parseRunKey(runKeys.onnx("r-1"))).toEqual({ runId: "r-1", file: "model.onnx" });
    expect(parseMarkerKey(runKeys.success("r-1"))).toEqual({ runId: "r-1", marker: "_SUCCESS" });
    expect(parseMarkerKey(runKeys.marker("r-1", "_FAILED"))).toEqual({ runId: "r-1", marker: "_FAILED" });
    expect(parseMarkerKey(runKeys.record("r-1"))).toBeNull();
    for (const key of ["runs/r-1/", "runs/r-1/a/b", "run/r-1/_SUCCESS", "runs//_SUCCESS"])
      expect(parseRunKey(key), key).toBeNull();
  });

  it("round-trips guards of each attempt", () => {
    expect(guardKeys.attempt(HASH, "GRU")).toBe(`guards/${HASH}/GRU.json`);
    expect(guardKeys.attempt(HASH, "GRU", 3)).toBe(`guards/${HASH}/GRU.attempt-3.json`);
    expect(parseGuardKey(guardKeys.attempt(HASH, "LSTM", 2))).toEqual({
      configHash: HASH,
      modelType: "LSTM",
      attempt: 2,
    });
    expect(parseGuardKey(guardKeys.attempt(HASH, "PROPHET"))).toEqual({
      configHash: HASH,
      modelType: "PROPHET",
      attempt: 1,
    });
    for (const key of [
      `guards/${HASH}/GRU.attempt-1.json`,
      `guards/${HASH}/GRU.attempt-0.json`,
      "guards/x/GRU.json",
    ])
      expect(parseGuardKey(key), key).toBeNull();
  });

  it("round-trips every evaluation entry", () => {
    const cases = [
      [
        evaluationKeys.status("P", HASH, "r-1", "SUCCESS"),
        { kind: "status", runId: "r-1", status: "SUCCESS" },
      ],
      [evaluationKeys.decisionFor("P", HASH, GEN), { kind: "decision", generation: GEN }],
      [evaluationKeys.publishedFor("P", HASH, GEN), { kind: "published", generation: GEN }],
      [evaluationKeys.claimFor("P", HASH, GEN, 12), { kind: "claim", generation: GEN, slot: 12 }],
      [evaluationKeys.nudgedFor("P", HASH, GEN), { kind: "nudged", generation: GEN }],
      [evaluationKeys.seriesFor("P", HASH, GEN), { kind: "series", generation: GEN }],
      [evaluationKeys.decision("P", HASH), { kind: "latest-decision" }],
      [evaluationKeys.published("P", HASH), { kind: "latest-published" }],
    ] as const;
    for (const [key, entry] of cases)
      expect(parseEvaluationKey(key), key).toEqual({ identifier: "P", configHash: HASH, entry });
    expect(evaluationKeys.seriesFor("P", HASH, GEN)).toBe(
      `evaluations/P/${HASH}/decisions/${GEN}.series.bin`,
    );
    expect(
      evaluationKeys.status("P", HASH, "r", "RUNNING").startsWith(evaluationKeys.runsPrefix("P", HASH)),
    ).toBe(true);
    for (const key of [
      `evaluations/P/${HASH}/runs/r-1.DONE.json`,
      `evaluations/P/${HASH}/decisions/xyz.json`,
      `evaluations/P/${HASH}/other.json`,
      `evaluations/P/abc/decision.json`,
    ])
      expect(parseEvaluationKey(key), key).toBeNull();
  });

  it("names the run files the Python trainer writes", () => {
    const py = (file: string) => readFileSync(`functions/train/src/flts_train/${file}`, "utf8");
    const runner = py("runner.py");
    for (const name of [
      RUN_FILES.onnx,
      RUN_FILES.card,
      RUN_FILES.metrics,
      RUN_FILES.validation,
      RUN_FILES.success,
      RUN_FILES.failed,
    ])
      expect(runner, name).toContain(`+ "${name}"`);
    expect(py("heartbeat.py")).toContain(`prefix + "${RUN_FILES.heartbeat}"`);
    expect(py("heartbeat.py")).toContain(`("${RUN_FILES.success}", "${RUN_FILES.failed}")`);
  });
});

describe("model-promotion keys", () => {
  it("round-trips pointers, history and drift records", () => {
    expect(promotionKeys.current("global")).toBe("global/current.json");
    expect(promotionKeys.history("P", HASH, "2026-01-31T12:00:00.000Z")).toBe(
      `P/${HASH}/promotion-2026-01-31T12-00-00-000Z.json`,
    );
    expect(
      promotionKeys
        .history("P", HASH, "2026-01-31T12:00:00.000Z")
        .startsWith(promotionKeys.historyPrefix("P", HASH)),
    ).toBe(true);
    expect(parsePromotionKey(promotionKeys.current("P"))).toEqual({ kind: "current", scope: "P" });
    expect(parsePromotionKey(promotionKeys.configCurrent("P", HASH))).toEqual({
      kind: "config-current",
      scope: "P",
      configHash: HASH,
    });
    expect(parsePromotionKey(promotionKeys.history("P", HASH, "2026-01-31T12:00:00.000Z"))).toEqual({
      kind: "history",
      scope: "P",
      configHash: HASH,
      timestamp: "2026-01-31T12-00-00-000Z",
    });
    const drift = promotionKeys.drift("P", "r-1", "00ff");
    expect(drift.startsWith(promotionKeys.driftPrefix("P"))).toBe(true);
    expect(parsePromotionKey(drift)).toEqual({ kind: "drift", identifier: "P", name: "r-1-00ff" });
    for (const key of [
      "current.json",
      `P/${HASH}/promotion-x.json`,
      "P/abc/current.json",
      "P/drift/a/b.json",
    ])
      expect(parsePromotionKey(key), key).toBeNull();
  });
});

describe("inference-logs keys", () => {
  const at = new Date("2026-02-03T04:05:06.789Z");
  it("round-trips request logs and batch results", () => {
    const log = inferenceLogKeys.requests("P", at, "a1b2c3d4", 7);
    expect(log).toBe("P/20260203/040506-a1b2c3d4-7.jsonl");
    expect(parseInferenceLogKey(log)).toEqual({
      kind: "requests",
      identifier: "P",
      day: "20260203",
      time: "040506",
      instance: "a1b2c3d4",
      sequence: 7,
    });
    const batch = inferenceLogKeys.batch("P", at, "P-gru-1", "00ff");
    expect(batch).toBe("P/20260203/batch-P-gru-1-00ff.parquet");
    expect(parseInferenceLogKey(batch)).toEqual({
      kind: "batch",
      identifier: "P",
      day: "20260203",
      name: "P-gru-1-00ff",
    });
    expect(log.startsWith(inferenceLogKeys.prefix("P"))).toBe(true);
    for (const key of ["P/2026020/040506-a-1.jsonl", "P/20260203/x.jsonl", "P/20260203/batch-.parquet"])
      expect(parseInferenceLogKey(key), key).toBeNull();
  });
});
