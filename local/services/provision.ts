/** Creates the topics and buckets of DESIGN.md and wires MinIO's bucket notifications to Kafka. */
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketNotificationConfigurationCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Kafka, logLevel } from "kafkajs";
import { ALL_TOPICS, dlqTopic } from "../../functions/common/contracts.ts";
import { type LocalServiceSettings, S3_EVENTS_TOPIC } from "./env.ts";
import { MINIO_KAFKA_TARGET_ARN } from "./minio.ts";

export const LOCAL_BUCKETS = [
  "raw-data",
  "processed-data",
  "model-artifacts",
  "model-promotion",
  "inference-logs",
];

export function localTopics(): string[] {
  return [...ALL_TOPICS, ...ALL_TOPICS.map(dlqTopic), S3_EVENTS_TOPIC];
}

/** Creates missing topics; returns the names it created. */
export async function ensureTopics(settings: LocalServiceSettings): Promise<string[]> {
  const admin = new Kafka({
    clientId: "flts-local-provision",
    brokers: [`${settings.kafkaHost}:${settings.kafkaPort}`],
    logLevel: logLevel.ERROR,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = localTopics().filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
      });
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}

export function localS3Client(settings: LocalServiceSettings): S3Client {
  return new S3Client({
    endpoint: `http://${settings.minioHost}:${settings.minioPort}`,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.minioUser, secretAccessKey: settings.minioPassword },
  });
}

/** Creates `bucket` when missing, without notifications (a tool's own bucket, e.g. MLflow's artifacts). */
export async function ensurePlainBucket(settings: LocalServiceSettings, bucket: string): Promise<boolean> {
  const s3 = localS3Client(settings);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return true;
  } finally {
    s3.destroy();
  }
}

/** Creates missing buckets and (re)points every bucket's ObjectCreated events at the Kafka target. */
export async function ensureBuckets(settings: LocalServiceSettings): Promise<string[]> {
  const s3 = localS3Client(settings);
  const created: string[] = [];
  try {
    for (const bucket of LOCAL_BUCKETS) {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        created.push(bucket);
      }
      await s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: bucket,
          NotificationConfiguration: {
            QueueConfigurations: [
              { Id: "flts-s3-events", QueueArn: MINIO_KAFKA_TARGET_ARN, Events: ["s3:ObjectCreated:*"] },
            ],
          },
        }),
      );
    }
  } finally {
    s3.destroy();
  }
  return created;
}
