import { describe, expect, it } from "vitest";
import {
  ContractError,
  DlqEnvelope,
  EvaluationDecision,
  isPermanent,
  ModelTrainingMessage,
  PreprocessConfig,
  type PreprocessReport,
  PromotionPointer,
  parseContract,
  ScoreboardEntry,
  TrainingDataMessage,
} from "../../functions/common/contracts.ts";
import { processedKeys } from "../../functions/common/keys.ts";
import { parseS3Event } from "../../functions/common/s3-event.ts";
import { loadEvaluateSettings } from "../../functions/evaluate/settings.ts";
import { parseRawKey } from "../../functions/preprocess/preprocess.ts";
import { loadPreprocessSettings } from "../../functions/preprocess/settings.ts";
import { parseMarkerKey } from "../../functions/train-complete/complete.ts";
import { loadDispatchSettings } from "../../functions/train-dispatch/settings.ts";
import { s3Event, s3EventRecord, s3RecordsOfNotification } from "../../local/runtime/events.ts";

const hash = "a".repeat(64);
const claim = {
  bucket: "processed-data",
  object_key: processedKeys("X", hash).train,
  test_object_key: processedKeys("X", hash).test,
  config_hash: hash,
  identifier: "X",
  v: 1,
  size: 10,
};
const training = {
  operation: "Trained: GRU",
  status: "SUCCESS",
  run_id: "X-gru-1",
  model_type: "GRU",
  config_hash: hash,
  identifier: "X",
  artifact_uri: "s3://model-artifacts/runs/X-gru-1/",
  metrics: { rmse: 1, mae: 1, mse: 1 },
  error: null,
};

function rejection(schema: Parameters<typeof parseContract>[0], value: unknown): string {
  try {
    parseContract(schema, "test", value);
  } catch (error) {
    expect(error).toBeInstanceOf(ContractError);
    expect(isPermanent(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected a rejection");
}

describe("contract rejections name the field", () => {
  it("accepts the original shapes", () => {
    expect(parseContract(TrainingDataMessage, "t", claim).identifier).toBe("X");
    expect(parseContract(ModelTrainingMessage, "t", training).status).toBe("SUCCESS");
  });

  it("takes preprocess's report as an optional extra of the claim check, validated when present", () => {
    const report: PreprocessReport = {
      rows_read: 10,
      duplicates_dropped: 1,
      rows_dropped_missing: 0,
      nan_policy: "ffill",
      missing_cells: { mcs_up: { empty: 2, nan: 0, inf: 1, filled: 3 } },
      negative_policy: "reject",
      negatives_clipped: {},
      feature_selection: "reference_columns",
      features: ["down", "up"],
      features_left_out: ["extra"],
    };
    expect(parseContract(TrainingDataMessage, "t", { ...claim, report }).report).toEqual(report);
    expect(parseContract(TrainingDataMessage, "t", claim).report).toBeUndefined();
    expect(rejection(TrainingDataMessage, { ...claim, report: { ...report, rows_read: -1 } })).toMatch(
      /report.rows_read/,
    );
    expect(
      rejection(TrainingDataMessage, {
        ...claim,
        report: { ...report, missing_cells: { up: { empty: 1 } } },
      }),
    ).toMatch(/report.missing_cells.up.nan/);
  });

  it("has a REFUSED scoreboard status for a candidate without a score", () => {
    const entry = { run_id: "r", model_type: "GRU", kind: "candidate", score: null, rmse: null, mae: null };
    expect(parseContract(ScoreboardEntry, "t", { ...entry, mse: null, status: "REFUSED" }).status).toBe(
      "REFUSED",
    );
    expect(rejection(ScoreboardEntry, { ...entry, mse: null, status: "NAN" })).toMatch(/status/);
  });

  it.each([
    [
      "training-data without config_hash",
      TrainingDataMessage,
      { ...claim, config_hash: undefined },
      /config_hash/,
    ],
    [
      "training-data with a short hash",
      TrainingDataMessage,
      { ...claim, config_hash: "abc" },
      /config_hash: must be a 64-character/,
    ],
    ["training-data v 2", TrainingDataMessage, { ...claim, v: 2 }, /v: /],
    [
      "training-data identifier with a slash",
      TrainingDataMessage,
      { ...claim, identifier: "a/b" },
      /identifier: letters, digits/,
    ],
    ["model-training unknown status", ModelTrainingMessage, { ...training, status: "DONE" }, /status: /],
    [
      "model-training unknown model type",
      ModelTrainingMessage,
      { ...training, model_type: "XGB" },
      /model_type: /,
    ],
    [
      "model-training bad artifact uri",
      ModelTrainingMessage,
      { ...training, artifact_uri: "/tmp/x" },
      /artifact_uri: must be an s3:\/\/bucket\/key URI/,
    ],
    [
      "model-training negative rmse",
      ModelTrainingMessage,
      { ...training, metrics: { rmse: -1, mae: 1, mse: 1 } },
      /metrics.rmse/,
    ],
    [
      "pointer without model_uri",
      PromotionPointer,
      {
        run_id: "r",
        model_type: "GRU",
        config_hash: hash,
        identifier: "X",
        scope: "X",
        score: 1,
        card_uri: "s3://b/k",
        promoted_at: "t",
      },
      /model_uri/,
    ],
    [
      "DLQ envelope without error",
      DlqEnvelope,
      {
        source_topic: "t",
        partition: 0,
        offset: "1",
        key: null,
        value: "",
        consumer_group: "g",
        function: "f",
        attempts: 1,
        failed_at: "t",
      },
      /error/,
    ],
    [
      "preprocess config with inverted clip",
      PreprocessConfig,
      {
        time_column: "time",
        features: null,
        targets: ["down"],
        nan_policy: "drop",
        nan_constant: 0,
        clip: { lower_pct: 0.9, upper_pct: 0.1 },
        split: { kind: "fraction", test_fraction: 0.2 },
        min_rows: 1,
        window: 1,
        horizon: 1,
        step_seconds: 1,
        gap_tolerance_seconds: 1,
      },
      /clip: lower_pct must be below upper_pct/,
    ],
    ["decision without scoreboard", EvaluationDecision, { v: 1 }, /scoreboard/],
  ])("%s", (_name, schema, value, message) => {
    expect(rejection(schema, value)).toMatch(message);
  });
});

describe("event and key parsing", () => {
  it("decodes S3 event records (URL-encoded keys) and keeps ObjectCreated only", () => {
    const created = s3EventRecord({ bucket: "raw-data", key: "X/a b+.csv", size: 3 });
    expect(created.s3.object.key).toBe("X/a+b%2B.csv");
    const refs = parseS3Event(
      s3Event([
        created,
        s3EventRecord({ bucket: "raw-data", key: "X/old.csv", eventName: "ObjectRemoved:Delete" }),
      ]),
    );
    expect(refs).toEqual([
      { bucket: "raw-data", key: "X/a b+.csv", size: 3, eTag: null, eventName: "ObjectCreated:Put" },
    ]);
  });

  it("reads a MinIO notification as AWS S3 event records", () => {
    const [record] = s3RecordsOfNotification(
      JSON.stringify({
        EventName: "s3:ObjectCreated:Put",
        Records: [
          {
            eventSource: "minio:s3",
            eventName: "s3:ObjectCreated:Put",
            s3: { bucket: { name: "raw-data" }, object: { key: "X%2Fa+b%2B.csv", size: 3 } },
          },
        ],
      }),
      "eu-west-1",
    );
    expect(parseS3Event(s3Event(record ? [record] : []))).toEqual([
      { bucket: "raw-data", key: "X/a b+.csv", size: 3, eTag: null, eventName: "ObjectCreated:Put" },
    ]);
  });

  it("names the missing part of a bad record", () => {
    expect(() => parseS3Event({ Records: [{ eventName: "x", s3: { object: { key: "k" } } }] })).toThrow(
      /Records\.0\.s3\.bucket/,
    );
    expect(() => parseS3Event({})).toThrow(/Records/);
    expect(() => s3RecordsOfNotification(JSON.stringify({ Records: [{ s3: {} }] }), "us-east-1")).toThrow(
      /Records\.0\.eventName/,
    );
  });

  it("accepts raw keys <identifier>/<file>.csv only", () => {
    expect(parseRawKey("PobleSec/PobleSec.csv")).toEqual({
      identifier: "PobleSec",
      file: "PobleSec.csv",
      testKey: "PobleSec/PobleSec_test.csv",
    });
    expect(() => parseRawKey("a/b/c.csv")).toThrow(/must be '<identifier>\/<file>.csv'/);
    expect(() => parseRawKey("x y/c.csv")).toThrow(/identifier 'x y' is not valid/);
  });

  it("accepts run markers runs/<run_id>/_SUCCESS|_FAILED only", () => {
    expect(parseMarkerKey("runs/r-1/_SUCCESS")).toEqual({ runId: "r-1", marker: "_SUCCESS" });
    expect(() => parseMarkerKey("runs/r-1/model.onnx")).toThrow(/is not 'runs\/<run_id>\/_SUCCESS'/);
  });
});

describe("settings name the bad variable", () => {
  it.each([
    [() => loadPreprocessSettings({ NAN_POLICY: "mean" }), /nan_policy/],
    [() => loadPreprocessSettings({ TEST_FRACTION: "1.5" }), /TEST_FRACTION must be <= 1/],
    [() => loadPreprocessSettings({ WINDOW: "2.5" }), /WINDOW must be an integer/],
    [() => loadPreprocessSettings({ CLIP_PERCENTILES: "0.99" }), /CLIP_PERCENTILES/],
    [
      () => loadPreprocessSettings({ FEATURES: "up,rnti_count" }),
      /FEATURES must include every target \(missing down\)/,
    ],
    [() => loadPreprocessSettings({ FORCE_REPROCESS: "maybe" }), /FORCE_REPROCESS must be 1\/0/],
    [
      () => loadPreprocessSettings({ NEGATIVE_POLICY: "zero" }),
      /NEGATIVE_POLICY must be one of reject, clip/,
    ],
    [
      () => loadDispatchSettings({ EXPECTED_MODEL_TYPES: "GRU,XGB" }),
      /EXPECTED_MODEL_TYPES: 'XGB' is not a model type/,
    ],
    [
      () => loadDispatchSettings({ TRAINER_BACKENDS: "GRU=k8s" }),
      /TRAINER_BACKENDS.GRU: 'k8s' is not a trainer backend/,
    ],
    [() => loadDispatchSettings({ TRAIN_PARAMS: '{"max_epoch": 2}' }), /TRAIN_PARAMS.*max_epoch/],
    [() => loadEvaluateSettings({ PROMOTION_POLICY: "best" }), /PROMOTION_POLICY must be one of/],
    [() => loadEvaluateSettings({ EVAL_DEADLINE_SECONDS: "-1" }), /EVAL_DEADLINE_SECONDS must be >= 0/],
  ])("%#", (load, message) => {
    expect(load).toThrow(message);
  });

  it("reads per-type trainer backends", () => {
    const s = loadDispatchSettings({ TRAINER_BACKENDS: "GRU=ecs,PROPHET=lambda", TRAINER_BACKEND: "local" });
    expect(s.backends).toEqual({
      GRU: "ecs",
      LSTM: "local",
      PROPHET: "lambda",
      LINEAR: "local",
      GBDT: "local",
      ENSEMBLE: "local",
    });
  });
});
