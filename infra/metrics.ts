/**
 * The custom CloudWatch metrics the dashboard, alarms and autoscaling read (documented in
 * infra/README.md). Three sources, none of which needs code beyond what the functions already do:
 * - EMF from Powertools Metrics in functions/common/lambda.ts (namespace FLTS/Pipeline);
 * - metric filters on the structured log events the stages write (namespace FLTS/PipelineEvents);
 * - the inference service's Prometheus metrics, published by a CloudWatch agent sidecar (FLTS/Inference).
 */

/**
 * Every pipeline Lambda gets POWERTOOLS_METRICS_NAMESPACE = this and POWERTOOLS_SERVICE_NAME = its
 * manifest name, which Powertools adds as the default dimension `service`.
 */
export const PIPELINE_NAMESPACE = "FLTS/Pipeline";

/** EMF metrics of functions/common/lambda.ts, dimension `service`. */
export const PIPELINE_METRICS = {
  /** Kafka-triggered functions: a message went to `DLQ-<topic>`. */
  dlqPublished: "MessagesToDlq",
  /** Kafka-triggered functions: messages handled. */
  messagesProcessed: "MessagesProcessed",
  /** S3-triggered functions: objects handled. */
  objectsProcessed: "ObjectsProcessed",
} as const;

/**
 * EMF metric of the monitor function (namespace PIPELINE_NAMESPACE, unit None): per scored result and
 * target with a ratio, the live MAE ratio (model MAE / persistence MAE, the `performance-eval`
 * message's `ratio[target]`); dimensions LIVE_ERROR_RATIO_DIMENSIONS (`service` = `monitor`).
 */
export const LIVE_ERROR_RATIO = "LiveErrorRatio";
export const LIVE_ERROR_RATIO_DIMENSIONS = ["service", "identifier", "target"] as const;

/** Metrics counted from the stages' structured logs (Powertools Logger JSON, key `message`); no dimensions. */
export const EVENTS_NAMESPACE = "FLTS/PipelineEvents";

/** metric name → the log event (the `message` of a Powertools log line) that counts it. */
export const LOG_EVENT_METRICS = {
  TrainingDataPublished: "preprocess_done",
  SkippedIdempotent: "skip_idempotent",
  TrainingRunsLaunched: "trainer_launched",
  TrainerLaunchFailed: "trainer_launch_failed",
  TrainingRunsSucceeded: "train_success_publish",
  TrainingRunsFailed: "train_failed_publish",
  Promotions: "model_selected_published",
  PromotionsDeclined: "promotion_declined",
  DriftEvents: "model_drift_detected",
} as const;
export type LogEventMetric = keyof typeof LOG_EVENT_METRICS;

export const INFERENCE_NAMESPACE = "FLTS/Inference";
/** Dimension `service` = `flts-inference` on every inference metric. */
export const INFERENCE_SERVICE = "flts-inference";

/**
 * Published by the CloudWatch agent sidecar from the service's Prometheus `/metrics`
 * (functions/inference/metrics.ts), so the names are the Prometheus names; each keeps only the
 * dimensions listed (the agent drops the other labels). Latency percentiles and
 * 4xx/5xx come from the load balancer (AWS/ApplicationELB) and API Gateway (AWS/ApiGateway).
 */
export const INFERENCE_METRICS = {
  /** Counter by `status`: requests, 429s. */
  requests: { name: "http_requests_total", dimensions: ["service", "status"] },
  /** Gauge: windows queued or running. */
  queueDepth: { name: "inference_queue_len", dimensions: ["service"] },
  /** Gauge 1 per served model: the current model. */
  modelInfo: { name: "model_info", dimensions: ["service", "model_type", "run_id"] },
  /** Counter of model swaps. */
  modelSwaps: { name: "model_swaps_total", dimensions: ["service"] },
} as const satisfies Record<string, { name: string; dimensions: readonly string[] }>;
