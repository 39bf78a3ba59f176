/**
 * Every event function, its trigger and what it may touch. The CDK app (infra/) and the local
 * runtime (local/runtime) both read this list, so wiring is declared once.
 */
import { TOPICS, type Topic } from "./common/contracts.ts";

export type BucketRole = "raw" | "processed" | "artifacts" | "promotion" | "inferenceLogs";
export type NativeLayer = "duckdb" | "onnxruntime";

export interface KafkaTrigger {
  kind: "kafka";
  topic: Topic;
  consumerGroup: string;
  batchSize: number;
  startingPosition: "TRIM_HORIZON" | "LATEST";
  /** Attempts per batch before its messages go to `DLQ-<topic>`. */
  maxAttempts: number;
}

export interface S3Trigger {
  kind: "s3";
  bucket: BucketRole;
  prefix?: string;
  /** The object key must end with one of these. */
  suffixes: string[];
}

/** A timer: an EventBridge rule in AWS (rate in whole minutes); locally every `localInterval` seconds. */
export interface ScheduleTrigger {
  kind: "schedule";
  everyMinutes: number;
  /** The local runtime's interval: the setting that overrides it, and its default. */
  localInterval: { setting: string; defaultSeconds: number };
}

export type Trigger = KafkaTrigger | S3Trigger | ScheduleTrigger;

export interface BucketGrant {
  bucket: BucketRole;
  prefix: string;
  access: "read" | "write" | "readwrite";
}

export interface FunctionSpec {
  name: string;
  /** Module path from the repo root; it exports `handler` (Lambda) and `handle` (plain function). */
  entry: string;
  trigger: Trigger;
  memoryMb: number;
  timeoutSeconds: number;
  layers: NativeLayer[];
  buckets: BucketGrant[];
  produces: Topic[];
  /** Launches trainer Lambdas / ECS tasks. */
  launchesTrainers?: boolean;
  /**
   * Environment variables the function reads besides the common ones (buckets, KAFKA_*, FLTS_S3_*);
   * `_<TYPE>` marks per-model-type variants (e.g. `ECS_TASK_DEFINITION_GRU`).
   */
  settings?: string[];
}

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    name: "preprocess",
    entry: "functions/preprocess/handler.ts",
    trigger: { kind: "s3", bucket: "raw", suffixes: [".csv"] },
    memoryMb: 2048,
    timeoutSeconds: 300,
    layers: ["duckdb"],
    buckets: [
      { bucket: "raw", prefix: "", access: "read" },
      { bucket: "processed", prefix: "", access: "readwrite" },
    ],
    produces: [TOPICS.trainingData],
    settings: [
      "FEATURES",
      "TARGETS",
      "NAN_POLICY",
      "NAN_CONSTANT",
      "NEGATIVE_POLICY",
      "CLIP_PERCENTILES",
      "TEST_FRACTION",
      "MIN_ROWS",
      "WINDOW",
      "HORIZON",
      "STEP_SECONDS",
      "GAP_TOLERANCE_SECONDS",
      "EXTRA_HASH_SALT",
      "FORCE_REPROCESS",
    ],
  },
  {
    name: "train-dispatch",
    entry: "functions/train-dispatch/handler.ts",
    trigger: {
      kind: "kafka",
      topic: TOPICS.trainingData,
      consumerGroup: "flts-train-dispatch",
      batchSize: 10,
      startingPosition: "TRIM_HORIZON",
      maxAttempts: 3,
    },
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    buckets: [
      { bucket: "processed", prefix: "", access: "read" },
      { bucket: "artifacts", prefix: "runs/", access: "readwrite" },
      { bucket: "artifacts", prefix: "guards/", access: "readwrite" },
    ],
    produces: [TOPICS.modelTraining],
    launchesTrainers: true,
    settings: [
      "EXPECTED_MODEL_TYPES",
      "SKIP_DUPLICATE_CONFIGS",
      "MAX_TRAIN_ATTEMPTS",
      "TRAINER_BACKEND",
      "TRAINER_BACKENDS",
      "TRAIN_PARAMS",
      "RUN_LEASE_SECONDS",
      "RUN_START_LEASE_SECONDS",
      "HEARTBEAT_SECONDS",
      "TRAINER_LAMBDA_FUNCTION(_<TYPE>)",
      "ECS_CLUSTER(_<TYPE>)",
      "ECS_TASK_DEFINITION(_<TYPE>)",
      "ECS_CAPACITY_PROVIDER(_<TYPE>)",
      "ECS_SUBNETS",
      "ECS_SECURITY_GROUPS",
      "ECS_CONTAINER_NAME",
      "ECS_ASSIGN_PUBLIC_IP",
    ],
  },
  {
    name: "train-complete",
    entry: "functions/train-complete/handler.ts",
    trigger: { kind: "s3", bucket: "artifacts", prefix: "runs/", suffixes: ["/_SUCCESS", "/_FAILED"] },
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    buckets: [{ bucket: "artifacts", prefix: "runs/", access: "read" }],
    produces: [TOPICS.modelTraining],
  },
  {
    name: "evaluate",
    entry: "functions/evaluate/handler.ts",
    trigger: {
      kind: "kafka",
      topic: TOPICS.modelTraining,
      consumerGroup: "flts-evaluate",
      batchSize: 10,
      startingPosition: "TRIM_HORIZON",
      maxAttempts: 3,
    },
    memoryMb: 2048,
    timeoutSeconds: 300,
    layers: ["onnxruntime", "duckdb"],
    buckets: [
      { bucket: "processed", prefix: "", access: "read" },
      { bucket: "artifacts", prefix: "runs/", access: "read" },
      { bucket: "artifacts", prefix: "evaluations/", access: "readwrite" },
      { bucket: "promotion", prefix: "", access: "readwrite" },
    ],
    produces: [TOPICS.modelSelected],
    settings: [
      "EXPECTED_MODEL_TYPES",
      "EVAL_DEADLINE_SECONDS",
      "SCORE_WEIGHTS",
      "PROMOTION_POLICY",
      "PROMOTE_GLOBAL",
      "MLFLOW_TRACKING_URI",
      "MLFLOW_EXPERIMENT_NAME",
    ],
  },
  {
    name: "batch-inference",
    entry: "functions/batch-inference/handler.ts",
    trigger: {
      kind: "kafka",
      topic: TOPICS.inferenceData,
      consumerGroup: "flts-batch-inference",
      batchSize: 1,
      startingPosition: "TRIM_HORIZON",
      maxAttempts: 3,
    },
    memoryMb: 3008,
    timeoutSeconds: 900,
    layers: ["onnxruntime", "duckdb"],
    buckets: [
      { bucket: "processed", prefix: "", access: "read" },
      { bucket: "artifacts", prefix: "runs/", access: "read" },
      { bucket: "promotion", prefix: "", access: "read" },
      { bucket: "inferenceLogs", prefix: "", access: "write" },
    ],
    produces: [TOPICS.performanceEval],
    settings: ["SCORE_BATCH_WINDOWS", "SCORE_BLOCK_ROWS", "SCORE_THREADS", "SCORE_WORKER"],
  },
  {
    name: "monitor",
    entry: "functions/monitor/handler.ts",
    trigger: {
      kind: "kafka",
      topic: TOPICS.performanceEval,
      consumerGroup: "flts-monitor",
      batchSize: 10,
      startingPosition: "TRIM_HORIZON",
      maxAttempts: 3,
    },
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    buckets: [
      { bucket: "artifacts", prefix: "evaluations/", access: "read" },
      { bucket: "promotion", prefix: "", access: "readwrite" },
    ],
    produces: [],
    settings: ["DRIFT_RATIO_THRESHOLD"],
  },
  {
    name: "sweeper",
    entry: "functions/sweeper/handler.ts",
    trigger: {
      kind: "schedule",
      everyMinutes: 1,
      localInterval: { setting: "SWEEP_INTERVAL_SECONDS", defaultSeconds: 5 },
    },
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    buckets: [
      { bucket: "artifacts", prefix: "runs/", access: "readwrite" },
      { bucket: "artifacts", prefix: "evaluations/", access: "readwrite" },
    ],
    // Re-publishes a recorded status so evaluate decides at the deadline (functions/sweeper/deadline.ts).
    produces: [TOPICS.modelTraining],
    settings: [
      "RUN_LEASE_SECONDS",
      "RUN_START_LEASE_SECONDS",
      "HEARTBEAT_SECONDS",
      "SWEEP_INTERVAL_SECONDS",
      "EXPECTED_MODEL_TYPES",
      "EVAL_DEADLINE_SECONDS",
    ],
  },
];

export function functionByName(name: string): FunctionSpec {
  const spec = FUNCTIONS.find((f) => f.name === name);
  if (!spec) throw new Error(`no function named '${name}' in the manifest`);
  return spec;
}
