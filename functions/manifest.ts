/**
 * Every event function, its trigger, what it may touch and the settings it reads; the trainer's and
 * the inference service's grants and settings too. The CDK app (infra/) and the local runtime
 * (local/runtime) both read this, so wiring is declared once (test/unit/manifest-settings.test.ts
 * holds each loader to its declared settings).
 */
import { BATCH_SETTINGS } from "./batch-inference/settings.ts";
import { TOPICS, type Topic } from "./common/contracts.ts";
import { EVALUATIONS_PREFIX, GUARDS_PREFIX, RUN_FILES, RUNS_PREFIX } from "./common/keys.ts";
import type { SettingsTable } from "./common/settings.ts";
import { EVALUATE_SETTINGS, EVALUATE_TIMEOUT_SECONDS } from "./evaluate/settings.ts";
import { INFERENCE_SETTINGS } from "./inference/config.ts";
import { MONITOR_SETTINGS } from "./monitor/settings.ts";
import { PREPROCESS_SETTINGS } from "./preprocess/settings.ts";
import { SWEEP_SETTINGS } from "./sweeper/settings.ts";
import { DISPATCH_SETTINGS } from "./train-dispatch/settings.ts";

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

/** How an asynchronous invocation (S3 → Lambda, a trainer Lambda) is retried before its failure queue. */
export interface AsyncInvoke {
  /** Attempts per event, the first included (Lambda allows 1 to 3). */
  maxAttempts: 1 | 2 | 3;
  /** An event older than this goes to the failure queue untried. */
  maxEventAgeHours: number;
}

/** S3 invokes once per object event (no batches): `invoke` says how a failed event is retried. */
export interface S3Trigger {
  kind: "s3";
  bucket: BucketRole;
  prefix?: string;
  /** The object key must end with one of these. */
  suffixes: string[];
  invoke: AsyncInvoke;
}

/** A timer: an EventBridge rule in AWS (rate in whole minutes); locally every `localInterval` seconds. */
export interface ScheduleTrigger {
  kind: "schedule";
  everyMinutes: number;
  /** The local runtime's interval in seconds: one of the function's declared settings. */
  localInterval: { setting: string };
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
   * The settings the function reads besides the common ones (COMMON_SETTINGS: buckets, KAFKA_*,
   * FLTS_S3_*): its loader is this table (functions/common/settings.ts).
   */
  settings: SettingsTable;
}

/** The trainer (Lambda image or ECS task, functions/train): what it may touch and how it is invoked. */
export interface TrainerSpec {
  name: string;
  buckets: BucketGrant[];
  /** The trainer Lambda's async invocation: a failed job writes _FAILED itself, so no retry. */
  invoke: AsyncInvoke;
}

/** The inference service (Fargate, functions/inference): its grants, the topic it hears, its settings. */
export interface ServiceSpec {
  name: string;
  entry: string;
  buckets: BucketGrant[];
  consumes: Topic[];
  settings: SettingsTable;
}

const kafka = (topic: Topic, consumerGroup: string, batchSize = 10): KafkaTrigger => ({
  kind: "kafka",
  topic,
  consumerGroup,
  batchSize,
  startingPosition: "TRIM_HORIZON",
  maxAttempts: 3,
});

/** S3 events: two retries over at most six hours, then the function's failure queue. */
const S3_INVOKE: AsyncInvoke = { maxAttempts: 3, maxEventAgeHours: 6 };

const read = (bucket: BucketRole, prefix = ""): BucketGrant => ({ bucket, prefix, access: "read" });
const readwrite = (bucket: BucketRole, prefix = ""): BucketGrant => ({ bucket, prefix, access: "readwrite" });

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    name: "preprocess",
    entry: "functions/preprocess/handler.ts",
    trigger: { kind: "s3", bucket: "raw", suffixes: [".csv"], invoke: S3_INVOKE },
    memoryMb: 2048,
    timeoutSeconds: 300,
    layers: ["duckdb"],
    // promotion and runs/: the champion's pointer and card, for `<identifier>/score/` uploads
    buckets: [read("raw"), readwrite("processed"), read("promotion"), read("artifacts", RUNS_PREFIX)],
    produces: [TOPICS.trainingData, TOPICS.inferenceData],
    settings: PREPROCESS_SETTINGS,
  },
  {
    name: "train-dispatch",
    entry: "functions/train-dispatch/handler.ts",
    trigger: kafka(TOPICS.trainingData, "flts-train-dispatch"),
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    buckets: [read("processed"), readwrite("artifacts", RUNS_PREFIX), readwrite("artifacts", GUARDS_PREFIX)],
    produces: [TOPICS.modelTraining],
    launchesTrainers: true,
    settings: DISPATCH_SETTINGS,
  },
  {
    name: "train-complete",
    entry: "functions/train-complete/handler.ts",
    trigger: {
      kind: "s3",
      bucket: "artifacts",
      prefix: RUNS_PREFIX,
      suffixes: [`/${RUN_FILES.success}`, `/${RUN_FILES.failed}`],
      invoke: S3_INVOKE,
    },
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    buckets: [read("artifacts", RUNS_PREFIX)],
    produces: [TOPICS.modelTraining],
    settings: {},
  },
  {
    name: "evaluate",
    entry: "functions/evaluate/handler.ts",
    trigger: kafka(TOPICS.modelTraining, "flts-evaluate"),
    memoryMb: 2048,
    timeoutSeconds: EVALUATE_TIMEOUT_SECONDS,
    layers: ["onnxruntime", "duckdb"],
    buckets: [
      read("processed"),
      read("artifacts", RUNS_PREFIX),
      readwrite("artifacts", EVALUATIONS_PREFIX),
      readwrite("promotion"),
    ],
    // training-data: the claim check again, asking train-dispatch for the generation's ENSEMBLE.
    produces: [TOPICS.modelSelected, TOPICS.trainingData],
    settings: EVALUATE_SETTINGS,
  },
  {
    name: "batch-inference",
    entry: "functions/batch-inference/handler.ts",
    trigger: kafka(TOPICS.inferenceData, "flts-batch-inference", 1),
    memoryMb: 3008,
    timeoutSeconds: 900,
    layers: ["onnxruntime", "duckdb"],
    buckets: [
      read("processed"),
      read("artifacts", RUNS_PREFIX),
      read("promotion"),
      { bucket: "inferenceLogs", prefix: "", access: "write" },
    ],
    produces: [TOPICS.performanceEval],
    settings: BATCH_SETTINGS,
  },
  {
    name: "monitor",
    entry: "functions/monitor/handler.ts",
    trigger: kafka(TOPICS.performanceEval, "flts-monitor"),
    // Retraining (RETRAIN_ON_DRIFT) reads the scored and training sidecars and raw CSVs, and writes one raw series.
    memoryMb: 1024,
    timeoutSeconds: 120,
    layers: ["duckdb"],
    buckets: [
      read("artifacts", EVALUATIONS_PREFIX),
      readwrite("promotion"),
      read("processed"),
      readwrite("raw"),
    ],
    produces: [],
    settings: MONITOR_SETTINGS,
  },
  {
    name: "sweeper",
    entry: "functions/sweeper/handler.ts",
    trigger: { kind: "schedule", everyMinutes: 1, localInterval: { setting: "SWEEP_INTERVAL_SECONDS" } },
    memoryMb: 512,
    timeoutSeconds: 60,
    layers: [],
    buckets: [readwrite("artifacts", RUNS_PREFIX), readwrite("artifacts", EVALUATIONS_PREFIX)],
    // Re-publishes a recorded status so evaluate decides at the deadline (functions/sweeper/deadline.ts).
    produces: [TOPICS.modelTraining],
    settings: SWEEP_SETTINGS,
  },
];

/** What a trainer reads and writes (the job spec sits at runs/<run_id>/job.json). */
export const TRAINER: TrainerSpec = {
  name: "trainer",
  buckets: [read("processed"), readwrite("artifacts", RUNS_PREFIX)],
  // A crashed invocation is not retried: evaluate's deadline covers it.
  invoke: { maxAttempts: 1, maxEventAgeHours: 1 },
};

/** The inference service reads promoted models and writes its request log; promotions arrive on Kafka. */
export const SERVICE: ServiceSpec = {
  name: "inference",
  entry: "functions/inference/main.ts",
  buckets: [
    read("promotion"),
    read("artifacts", RUNS_PREFIX),
    { bucket: "inferenceLogs", prefix: "", access: "write" },
  ],
  consumes: [TOPICS.modelSelected],
  settings: INFERENCE_SETTINGS,
};

export function functionByName(name: string): FunctionSpec {
  const spec = FUNCTIONS.find((f) => f.name === name);
  if (!spec) throw new Error(`no function named '${name}' in the manifest`);
  return spec;
}
