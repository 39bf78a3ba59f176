/**
 * The custom CloudWatch metrics the dashboard and alarms read. The functions emit them with
 * Powertools Metrics (EMF); the inference service prints the same EMF lines to stdout (CloudWatch
 * Logs extracts them from any log group). Names are documented in infra/README.md.
 */

/** Every pipeline Lambda gets POWERTOOLS_METRICS_NAMESPACE = this and POWERTOOLS_SERVICE_NAME = its manifest name. */
export const PIPELINE_NAMESPACE = "FLTS/Pipeline";
/** Powertools adds `service` (the function's manifest name) as the default dimension. */
export const SERVICE_DIMENSION = "service";

export const PIPELINE_METRICS = {
  /** preprocess: a training-data claim check was published. */
  trainingDataPublished: "TrainingDataPublished",
  /** preprocess: skipped because the same config_hash exists (`skip_idempotent`). */
  skippedIdempotent: "SkippedIdempotent",
  /** train-dispatch: a trainer was launched (dimension set also carries ModelType and Backend optionally). */
  trainingRunsLaunched: "TrainingRunsLaunched",
  /** train-complete: a run ended with _SUCCESS / _FAILED. */
  trainingRunsSucceeded: "TrainingRunsSucceeded",
  trainingRunsFailed: "TrainingRunsFailed",
  /** evaluate: a model was promoted (a `model-selected` message was published). */
  promotions: "Promotions",
  /** evaluate: a config_hash was evaluated without a new champion. */
  promotionsSkipped: "PromotionsSkipped",
  /** Any Kafka-triggered function (functions/common/lambda.ts): a message went to `DLQ-<topic>`. */
  dlqPublished: "MessagesToDlq",
  /** Kafka-triggered functions: messages handled (functions/common/lambda.ts). */
  messagesProcessed: "MessagesProcessed",
  /** S3-triggered functions: objects handled (functions/common/lambda.ts). */
  objectsProcessed: "ObjectsProcessed",
} as const;

export const INFERENCE_NAMESPACE = "FLTS/Inference";
/** Dimension `service` = `flts-inference` on every inference metric. */
export const INFERENCE_SERVICE = "flts-inference";

/**
 * Published by the CloudWatch agent sidecar from the service's Prometheus `/metrics`
 * (functions/inference/metrics.ts), so the names are the Prometheus names. Latency percentiles and
 * 4xx/5xx come from the load balancer (AWS/ApplicationELB) and API Gateway (AWS/ApiGateway).
 */
export const INFERENCE_METRICS = {
  /** Counter by `status` (dimensions service, status): requests, 429s. */
  requests: "http_requests_total",
  /** Gauge: windows queued or running (dimension service). */
  queueDepth: "inference_queue_len",
  /** Gauge 1 per served model (dimensions service, model_type, run_id): the current model. */
  modelInfo: "model_info",
  /** Counter of model swaps (dimension service). */
  modelSwaps: "model_swaps_total",
} as const;
