/** Wires the inference service together: S3, registry, Kafka listener, logs, HTTP server. */
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import { createKafka } from "../common/kafka.ts";
import { createLogger, type Logger } from "../common/log.ts";
import { createS3Client } from "../common/s3.ts";
import { createApp } from "./app.ts";
import { QueueBudget } from "./batcher.ts";
import { clusterMetricsReader } from "./cluster.ts";
import type { InferenceConfig } from "./config.ts";
import { InferenceLog } from "./inference-log.ts";
import { Lru } from "./lru.ts";
import { InferenceMetrics } from "./metrics.ts";
import { ModelSource } from "./model-source.ts";
import { Predictor } from "./predict.ts";
import { PromotionListener } from "./promotion-listener.ts";
import { ModelRegistry } from "./registry.ts";
import { RequestTracker } from "./request-tracker.ts";

export const SERVICE_VERSION = "1.0.0";
const LISTENER_STOP_MS = 5_000;

export interface InferenceService {
  app: Hono;
  port: number;
  url: string;
  registry: ModelRegistry;
  metrics: InferenceMetrics;
  logs: InferenceLog;
  /** Requests being served (read, queued or answered but not yet written). */
  inFlight(): number;
  /** Drains in-flight requests, stops listening and polling, flushes the inference logs. */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** A worker of several service processes (cluster.ts): `/metrics` answers for all of them. */
  clusterWorker?: boolean;
  /** Ends the wait for the model before listening (a signal that arrived during start-up). */
  startAbort?: AbortSignal;
}

export async function startInferenceService(
  config: InferenceConfig,
  logger: Logger = createLogger("flts-inference"),
  options: ServiceOptions = {},
): Promise<InferenceService> {
  const s3 = createS3Client(config.storage);
  const metrics = new InferenceMetrics();
  const budget = new QueueBudget(config.queueMax, (used) => metrics.queueLen.set(used));
  const source = new ModelSource(s3, config.storage.buckets.promotion);
  const registry = new ModelRegistry(
    source,
    {
      defaultIdentifier: config.defaultIdentifier,
      globalFallback: config.globalFallback,
      maxSessions: config.maxSessions,
      pointerPollMs: config.pointerPollMs,
      intraOpThreads: config.intraOpThreads,
      ortWorker: config.ortWorker,
      batching: { maxBatch: config.maxBatch, windowMs: config.batchWindowMs, ttlMs: config.queueTtlMs },
    },
    budget,
    metrics,
    logger,
  );
  const logs = new InferenceLog(
    {
      storage: config.storage,
      bucket: config.storage.buckets.inferenceLogs,
      flushMs: config.logFlushMs,
      maxRecords: config.logMaxRecords,
      maxBuffered: config.logMaxBuffered,
    },
    (count) => metrics.logRecordsDropped.inc(count),
    logger,
  );
  const predictor = new Predictor({
    registry,
    cache: config.cacheSize > 0 ? new Lru(config.cacheSize) : null,
    maxBatchWindows: config.maxBatchWindows,
    onCacheHit: () => metrics.cacheHits.inc(),
    record: (record) => logs.add(record),
    maxTsDistanceDays: config.tsMaxDistanceDays,
  });
  const tracker = new RequestTracker();
  const app = createApp({
    predictor,
    registry,
    source,
    metrics,
    tracker,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    version: SERVICE_VERSION,
    operator: { s3, buckets: config.storage.buckets, consoleEnabled: config.consoleEnabled },
    metricsText: options.clusterWorker
      ? clusterMetricsReader(metrics.registry)
      : () => metrics.registry.metrics(),
  });

  const startedAt = Date.now();
  const loaded = registry.start();
  logs.start();
  const listener = config.kafkaListen ? await startListener(config, registry, startedAt, logger) : null;

  // Traffic only once the model serves (a restarted process answers no 503s while its siblings
  // serve), but never wait forever: before the first promotion /healthz must answer.
  await waitUntil(loaded, config.readyWaitMs, options.startAbort);
  const server = await listen(app, config.port, config.host);
  const port = (server.address() as AddressInfo).port;
  logger.info("inference_listening", {
    port,
    pid: process.pid,
    identifier: config.defaultIdentifier,
    ready: registry.ready,
  });

  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    tracker.draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const drained = await tracker.idle(config.shutdownDrainMs);
    if (!drained) logger.warn("shutdown_drain_timeout", { in_flight: tracker.inFlight });
    if ("closeAllConnections" in server) server.closeAllConnections();
    await closed;
    // The log flush must not wait on Kafka: leaving the consumer group is bounded and runs beside it.
    const leave = listener
      ? withTimeout(listener.stop(), LISTENER_STOP_MS).catch((error: unknown) =>
          logger.warn("listener_stop_failed", { error: String(error) }),
        )
      : Promise.resolve();
    await Promise.all([logs.stop(), registry.stop(), leave]);
    logger.info("inference_stopped", { log_records_written: logs.written });
  };

  return {
    app,
    port,
    url: `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`,
    registry,
    metrics,
    logs,
    inFlight: () => tracker.inFlight,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

async function startListener(
  config: InferenceConfig,
  registry: ModelRegistry,
  since: number,
  logger: Logger,
): Promise<PromotionListener> {
  const kafka = await createKafka(config.kafka, `flts-inference-${process.pid}`);
  const listener = new PromotionListener(
    kafka,
    {
      topic: config.modelSelectedTopic,
      groupId: config.kafkaGroupId,
      since,
      onPromotion: (message) => registry.onModelSelected(message),
    },
    logger,
  );
  // Kafka being down must not keep the service from serving: the pointer poll still swaps.
  listener
    .start()
    .catch((error: unknown) => logger.error("model_selected_listener_failed", { error: String(error) }));
  return listener;
}

/** Resolves when `promise` settles, `ms` pass or `abort` fires, whichever comes first. */
function waitUntil(promise: Promise<unknown>, ms: number, abort?: AbortSignal): Promise<void> {
  if (ms === 0 || abort?.aborted) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const bounded = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    onAbort = resolve;
    abort?.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([
    promise.then(
      () => {},
      () => {},
    ),
    bounded,
  ]).finally(() => {
    clearTimeout(timer);
    abort?.removeEventListener("abort", onAbort);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function listen(app: Hono, port: number, hostname: string): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, () => resolve(server));
    server.once("error", reject);
  });
}
