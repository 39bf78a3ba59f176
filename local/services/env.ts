/** Where the local services listen and the environment the stages need to reach them. */
import { z } from "zod";
import { bucketEnv, queueUrl, readDataStackOutputs } from "../localstack/outputs.ts";
import { runningPid } from "./processes.ts";

export interface LocalServiceSettings {
  kafkaHost: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  minioHost: string;
  minioPort: number;
  minioConsolePort: number;
  minioUser: string;
  minioPassword: string;
  localstackHost: string;
  localstackPort: number;
  mlflowHost: string;
  mlflowPort: number;
  region: string;
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name} must be a TCP port (1-65535), got '${raw}'`);
  }
  return value;
}

export function localServiceSettings(): LocalServiceSettings {
  return {
    kafkaHost: "127.0.0.1",
    kafkaPort: port("FLTS_KAFKA_PORT", 9092),
    kafkaControllerPort: port("FLTS_KAFKA_CONTROLLER_PORT", 9093),
    minioHost: "127.0.0.1",
    minioPort: port("FLTS_MINIO_PORT", 9000),
    minioConsolePort: port("FLTS_MINIO_CONSOLE_PORT", 9001),
    minioUser: process.env.FLTS_MINIO_USER ?? "minioadmin",
    minioPassword: process.env.FLTS_MINIO_PASSWORD ?? "minioadmin",
    localstackHost: "127.0.0.1",
    localstackPort: port("FLTS_LOCALSTACK_PORT", 4566),
    mlflowHost: "127.0.0.1",
    mlflowPort: port("FLTS_MLFLOW_PORT", 5000),
    region: process.env.AWS_REGION ?? "us-east-1",
  };
}

/** Where the buckets live: MinIO (default) or LocalStack's S3 with the deployed data stack's buckets. */
export const StorageMode = z.enum(["minio", "localstack"]);
export type StorageMode = z.infer<typeof StorageMode>;

export function storageMode(env: NodeJS.ProcessEnv = process.env): StorageMode {
  const raw = env.FLTS_STORAGE;
  if (raw === undefined || raw === "") return "minio";
  const parsed = StorageMode.safeParse(raw);
  if (!parsed.success) throw new Error(`FLTS_STORAGE must be minio or localstack, got '${raw}'`);
  return parsed.data;
}

export function localstackEndpoint(settings = localServiceSettings()): string {
  return `http://${settings.localstackHost}:${settings.localstackPort}`;
}

export function mlflowUrl(settings = localServiceSettings()): string {
  return `http://${settings.mlflowHost}:${settings.mlflowPort}`;
}

/** MLFLOW_TRACKING_URI while the local MLflow server (`local:up -- --mlflow`) runs, else nothing. */
function trackingEnv(settings: LocalServiceSettings): Record<string, string> {
  return runningPid("mlflow") === null ? {} : { MLFLOW_TRACKING_URI: mlflowUrl(settings) };
}

/**
 * The environment a stage, test or CLI needs: Kafka always; MLflow's tracking URI while the local
 * server runs; MinIO, or (FLTS_STORAGE=localstack) LocalStack's S3 with the bucket names from the
 * deployed data stack's outputs, the S3 → SQS queue the local runtime reads its S3 triggers from, and
 * CloudWatch for the stages' EMF metrics.
 */
export function localServiceEnv(
  settings = localServiceSettings(),
  mode: StorageMode = storageMode(),
): Record<string, string> {
  const common = {
    AWS_REGION: settings.region,
    KAFKA_BROKERS: `${settings.kafkaHost}:${settings.kafkaPort}`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    FLTS_STORAGE: mode,
    ...trackingEnv(settings),
  };
  if (mode === "minio")
    return {
      ...common,
      FLTS_S3_ENDPOINT: `http://${settings.minioHost}:${settings.minioPort}`,
      AWS_ACCESS_KEY_ID: settings.minioUser,
      AWS_SECRET_ACCESS_KEY: settings.minioPassword,
    };
  const endpoint = localstackEndpoint(settings);
  return {
    ...common,
    FLTS_S3_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    ...bucketEnv(readDataStackOutputs()),
    FLTS_S3_EVENTS_QUEUE_URL: queueUrl(endpoint),
    FLTS_CLOUDWATCH_ENDPOINT: endpoint,
  };
}

/** Sets the local-service variables on `process.env` unless the caller already chose others. */
export function applyLocalServiceEnv(settings = localServiceSettings()): void {
  for (const [key, value] of Object.entries(localServiceEnv(settings))) {
    if (process.env[key] === undefined) process.env[key] = value;
  }
}

/** Topic MinIO publishes its bucket notifications to (local only; AWS uses S3 event sources). */
export const S3_EVENTS_TOPIC = "s3-events";
