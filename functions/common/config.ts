/** Settings shared by every stage, read from the environment and validated once. */
import { z } from "zod";
import { describeIssues } from "./contracts.ts";

const Env = z.object({
  FLTS_S3_ENDPOINT: z.url().optional(),
  FLTS_S3_FORCE_PATH_STYLE: z.enum(["0", "1", "true", "false"]).optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  RAW_BUCKET: z.string().min(3).default("raw-data"),
  PROCESSED_BUCKET: z.string().min(3).default("processed-data"),
  ARTIFACTS_BUCKET: z.string().min(3).default("model-artifacts"),
  PROMOTION_BUCKET: z.string().min(3).default("model-promotion"),
  INFERENCE_LOGS_BUCKET: z.string().min(3).default("inference-logs"),
  KAFKA_BROKERS: z.string().min(1).default("127.0.0.1:9092"),
  KAFKA_AUTH: z.enum(["none", "iam"]).default("none"),
  MSK_CLUSTER_ARN: z.string().startsWith("arn:").optional(),
  KAFKA_CLIENT_ID: z.string().min(1).default("flts"),
});

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

export class ConfigError extends Error {}

export function loadCommonConfig(env: NodeJS.ProcessEnv = process.env): CommonConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid environment: ${describeIssues(parsed.error)}`);
  const e = parsed.data;
  const pathStyle = e.FLTS_S3_FORCE_PATH_STYLE;
  return {
    storage: {
      endpoint: e.FLTS_S3_ENDPOINT,
      forcePathStyle:
        pathStyle === undefined
          ? e.FLTS_S3_ENDPOINT !== undefined
          : pathStyle === "1" || pathStyle === "true",
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
}
