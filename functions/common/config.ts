/** Settings shared by every stage and the service: storage and Kafka (functions/common/settings.ts). */
import { type Env, flag, loadSettings, matching, oneOf, perEnv, text, url } from "./settings.ts";

const bucket = (name: string) => matching(name, /^.{3,}$/, "a bucket name");

/** The common settings; every function's environment has them besides its own (manifest `settings`). */
export const COMMON_SETTINGS = {
  FLTS_S3_ENDPOINT: url(),
  /** Unset: path-style exactly when FLTS_S3_ENDPOINT is set. */
  FLTS_S3_FORCE_PATH_STYLE: flag(undefined),
  AWS_REGION: text("us-east-1"),
  RAW_BUCKET: bucket("raw-data"),
  PROCESSED_BUCKET: bucket("processed-data"),
  ARTIFACTS_BUCKET: bucket("model-artifacts"),
  PROMOTION_BUCKET: bucket("model-promotion"),
  INFERENCE_LOGS_BUCKET: bucket("inference-logs"),
  KAFKA_BROKERS: text("127.0.0.1:9092"),
  KAFKA_AUTH: oneOf(["none", "iam"], "none"),
  MSK_CLUSTER_ARN: matching(undefined, /^arn:/, "an ARN"),
  KAFKA_CLIENT_ID: text("flts"),
} as const;

export interface StorageConfig {
  endpoint: string | undefined;
  forcePathStyle: boolean;
  region: string;
  buckets: {
    raw: string;
    processed: string;
    artifacts: string;
    promotion: string;
    inferenceLogs: string;
  };
}

export interface KafkaConfig {
  brokers: string[];
  auth: "none" | "iam";
  clusterArn: string | undefined;
  clientId: string;
  region: string;
}

export interface CommonConfig {
  storage: StorageConfig;
  kafka: KafkaConfig;
}

/** Throws a ConfigError naming the bad setting; loaded once per environment object. */
export const loadCommonConfig: (env?: Env) => CommonConfig = perEnv((env) => {
  const e = loadSettings(COMMON_SETTINGS, env);
  return {
    storage: {
      endpoint: e.FLTS_S3_ENDPOINT,
      forcePathStyle: e.FLTS_S3_FORCE_PATH_STYLE ?? e.FLTS_S3_ENDPOINT !== undefined,
      region: e.AWS_REGION,
      buckets: {
        raw: e.RAW_BUCKET,
        processed: e.PROCESSED_BUCKET,
        artifacts: e.ARTIFACTS_BUCKET,
        promotion: e.PROMOTION_BUCKET,
        inferenceLogs: e.INFERENCE_LOGS_BUCKET,
      },
    },
    kafka: {
      brokers: e.KAFKA_BROKERS.split(",")
        .map((b) => b.trim())
        .filter(Boolean),
      auth: e.KAFKA_AUTH,
      clusterArn: e.MSK_CLUSTER_ARN,
      clientId: e.KAFKA_CLIENT_ID,
      region: e.AWS_REGION,
    },
  };
});
