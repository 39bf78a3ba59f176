/** Where the local services listen and the environment the stages need to reach them. */
export interface LocalServiceSettings {
  kafkaHost: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  minioHost: string;
  minioPort: number;
  minioConsolePort: number;
  minioUser: string;
  minioPassword: string;
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
    region: process.env.AWS_REGION ?? "us-east-1",
  };
}

/** The environment a stage, test or CLI needs to talk to the local Kafka and MinIO. */
export function localServiceEnv(settings = localServiceSettings()): Record<string, string> {
  return {
    FLTS_S3_ENDPOINT: `http://${settings.minioHost}:${settings.minioPort}`,
    AWS_ACCESS_KEY_ID: settings.minioUser,
    AWS_SECRET_ACCESS_KEY: settings.minioPassword,
    AWS_REGION: settings.region,
    KAFKA_BROKERS: `${settings.kafkaHost}:${settings.kafkaPort}`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
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
