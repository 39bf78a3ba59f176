/** Settings of the inference service, read from the environment and validated once. */
import { randomBytes } from "node:crypto";
import { availableParallelism, hostname } from "node:os";
import { type CommonConfig, loadCommonConfig } from "../common/config.ts";
import { TOPICS } from "../common/contracts.ts";
import { type Env, flag, integer, loadSettings, perEnv, text } from "../common/settings.ts";

const int = (min: number, fallback: number | (() => number), max?: number) =>
  integer(fallback, { min, ...(max === undefined ? {} : { max }) });

/** The service's own settings (the manifest's SERVICE entry lists them). */
export const INFERENCE_SETTINGS = {
  PORT: int(0, 8080, 65535),
  /** Service processes sharing the port (main.ts): default one per CPU; 1 serves from the entry process. */
  WORKERS: int(1, availableParallelism, 64),
  HOST: text("0.0.0.0"),
  /** Scope served to requests without `identifier`: `global` or an identifier. */
  MODEL_IDENTIFIER: text("global"),
  /** Identifier X without `X/current.json` is served by `global/current.json`. */
  GLOBAL_FALLBACK: flag(true),
  MODEL_SELECTED_TOPIC: text(TOPICS.modelSelected),
  /** Empty: `flts-inference-<hostname>-<pid>-<random>`, so every replica (and instance) hears every promotion. */
  KAFKA_GROUP_ID: text(""),
  /** 0 turns the Kafka listener off (the pointer poll still swaps). */
  KAFKA_LISTEN: flag(true),
  POINTER_POLL_MS: int(0, 30_000),
  QUEUE_MAX: int(1, 2048),
  BATCH_WINDOW_MS: int(0, 0),
  MAX_BATCH: int(1, 64),
  MAX_BATCH_WINDOWS: int(1, 256),
  QUEUE_TTL_MS: int(1, 2_000),
  BODY_LIMIT_BYTES: int(1, 1_048_576),
  /** A body still arriving this long after its headers is answered 408 and its connection closed. */
  BODY_TIMEOUT_MS: int(1, 5_000),
  /** Request timestamps farther than this from the model card's `created_at` get a 400; 0: only 1970..9999. */
  TS_MAX_DISTANCE_DAYS: int(0, 36_525),
  /** How long start-up waits for the default model before listening anyway (503 with Retry-After until it loads). */
  READY_WAIT_MS: int(0, 20_000),
  CACHE_SIZE: int(0, 1024),
  MAX_SESSIONS: int(1, 4),
  ORT_INTRA_OP_THREADS: int(1, 1),
  /**
   * 1: sessions live on a worker thread, which frees the HTTP thread but costs a message per run;
   * 0 (default) runs them on the HTTP thread, the least CPU per forecast.
   */
  ORT_WORKER: flag(false),
  INFERENCE_LOG_FLUSH_MS: int(1, 5_000),
  INFERENCE_LOG_MAX_RECORDS: int(1, 5_000),
  INFERENCE_LOG_MAX_BUFFERED: int(1, 50_000),
  SHUTDOWN_DRAIN_MS: int(0, 10_000),
  /** 1 (default) serves the forecast console at /console; the CDK prod environment sets 0 unless enabled. */
  CONSOLE_ENABLED: flag(true),
} as const;

export interface InferenceConfig extends CommonConfig {
  port: number;
  workers: number;
  host: string;
  defaultIdentifier: string;
  globalFallback: boolean;
  modelSelectedTopic: string;
  kafkaGroupId: string;
  kafkaListen: boolean;
  pointerPollMs: number;
  queueMax: number;
  batchWindowMs: number;
  maxBatch: number;
  maxBatchWindows: number;
  queueTtlMs: number;
  bodyLimitBytes: number;
  bodyTimeoutMs: number;
  tsMaxDistanceDays: number;
  readyWaitMs: number;
  cacheSize: number;
  maxSessions: number;
  intraOpThreads: number;
  ortWorker: boolean;
  logFlushMs: number;
  logMaxRecords: number;
  logMaxBuffered: number;
  shutdownDrainMs: number;
  consoleEnabled: boolean;
}

/** Throws a ConfigError naming the bad setting; loaded once per environment object. */
export const loadInferenceConfig: (env?: Env) => InferenceConfig = perEnv((env) => {
  const common = loadCommonConfig(env);
  const e = loadSettings(INFERENCE_SETTINGS, env);
  return {
    ...common,
    port: e.PORT,
    workers: e.WORKERS,
    host: e.HOST,
    defaultIdentifier: e.MODEL_IDENTIFIER,
    globalFallback: e.GLOBAL_FALLBACK,
    modelSelectedTopic: e.MODEL_SELECTED_TOPIC,
    kafkaGroupId:
      e.KAFKA_GROUP_ID || `flts-inference-${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    kafkaListen: e.KAFKA_LISTEN,
    pointerPollMs: e.POINTER_POLL_MS,
    queueMax: e.QUEUE_MAX,
    batchWindowMs: e.BATCH_WINDOW_MS,
    maxBatch: e.MAX_BATCH,
    maxBatchWindows: e.MAX_BATCH_WINDOWS,
    queueTtlMs: e.QUEUE_TTL_MS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    bodyTimeoutMs: e.BODY_TIMEOUT_MS,
    tsMaxDistanceDays: e.TS_MAX_DISTANCE_DAYS,
    readyWaitMs: e.READY_WAIT_MS,
    cacheSize: e.CACHE_SIZE,
    maxSessions: e.MAX_SESSIONS,
    intraOpThreads: e.ORT_INTRA_OP_THREADS,
    ortWorker: e.ORT_WORKER,
    logFlushMs: e.INFERENCE_LOG_FLUSH_MS,
    logMaxRecords: e.INFERENCE_LOG_MAX_RECORDS,
    logMaxBuffered: e.INFERENCE_LOG_MAX_BUFFERED,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    consoleEnabled: e.CONSOLE_ENABLED,
  };
});
