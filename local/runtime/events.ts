/**
 * The Lambda events and invocation context the local runtime hands the functions' exported handlers,
 * in the shapes AWS delivers them: an MSK event-source mapping batch (base64 records grouped by
 * "topic-partition"), an S3 notification, an EventBridge scheduled event. Tests that call a handler
 * directly build their fake events here too.
 */
import { randomUUID } from "node:crypto";
import type { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import type { KafkaMskEventSchema } from "@aws-lambda-powertools/parser/schemas/kafka";
import type { S3Schema } from "@aws-lambda-powertools/parser/schemas/s3";
import { z } from "zod";
import { describeIssues } from "../../functions/common/contracts.ts";
import { decodeS3Key } from "../../functions/common/s3-event.ts";

const ACCOUNT = "000000000000";
const REGION = "us-east-1";

export type MskEvent = z.input<typeof KafkaMskEventSchema>;
type MskEventRecord = MskEvent["records"][string][number];
export type S3Event = z.input<typeof S3Schema>;
export type S3EventRecord = S3Event["Records"][number];
export type ScheduledEvent = z.input<typeof EventBridgeSchema>;

type Bytes = string | Buffer | null | undefined;
const base64 = (bytes: string | Buffer) => Buffer.from(bytes).toString("base64");

/** One consumed Kafka record (kafkajs' message fields), as the runtime or a test has it. */
export interface KafkaRecordInput {
  offset: string | number;
  key?: Bytes;
  value: Bytes;
  timestamp?: string | number;
  headers?: Record<string, Bytes | Bytes[]>;
}

export function mskRecord(topic: string, partition: number, record: KafkaRecordInput): MskEventRecord {
  const headers = Object.entries(record.headers ?? {}).flatMap(([name, values]) =>
    (Array.isArray(values) ? values : [values]).map((v) => ({ [name]: [...Buffer.from(v ?? "")] })),
  );
  return {
    topic,
    partition,
    offset: Number(record.offset),
    timestamp: Number(record.timestamp ?? Date.now()),
    timestampType: "CREATE_TIME",
    // MSK leaves `key` out of a record that has none.
    ...(record.key === null || record.key === undefined ? {} : { key: base64(record.key) }),
    value: base64(record.value ?? ""),
    headers,
  };
}

/** An MSK event: the records grouped by "topic-partition", in offset order within each group. */
export function mskEvent(records: readonly MskEventRecord[], brokers: readonly string[] = []): MskEvent {
  const groups: Record<string, MskEventRecord[]> = {};
  for (const r of records) {
    const key = `${r.topic}-${r.partition}`;
    groups[key] = [...(groups[key] ?? []), r];
  }
  return {
    eventSource: "aws:kafka",
    eventSourceArn: `arn:aws:kafka:${REGION}:${ACCOUNT}:cluster/flts-local/local`,
    bootstrapServers: brokers.join(","),
    records: groups as MskEvent["records"],
  };
}

/** What an S3 record says about its object; `key` unencoded (it is URL-encoded as S3 does). */
export interface S3ObjectInput {
  bucket: string;
  key: string;
  size?: number;
  eTag?: string;
  sequencer?: string;
  eventName?: string;
  eventTime?: string;
  region?: string;
}

/** An S3 key as S3 puts it in a notification: URL-encoded, '/' kept, spaces as '+'. */
const encodeS3Key = (key: string) => encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+");

export function s3EventRecord(object: S3ObjectInput): S3EventRecord {
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: object.region ?? REGION,
    eventTime: object.eventTime ?? new Date().toISOString(),
    eventName: object.eventName ?? "ObjectCreated:Put",
    userIdentity: { principalId: "local" },
    requestParameters: { sourceIPAddress: "127.0.0.1" },
    responseElements: { "x-amz-request-id": randomUUID(), "x-amz-id-2": randomUUID() },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "flts-local",
      bucket: {
        name: object.bucket,
        ownerIdentity: { principalId: "local" },
        arn: `arn:aws:s3:::${object.bucket}`,
      },
      object: {
        key: encodeS3Key(object.key),
        size: object.size ?? 0,
        eTag: object.eTag ?? "",
        ...(object.sequencer ? { sequencer: object.sequencer } : {}),
      },
    },
  };
}

export function s3Event(records: readonly S3EventRecord[]): S3Event {
  return { Records: [...records] };
}

/**
 * A bucket notification as MinIO (or LocalStack, through SQS) puts it on the S3-event topic. MinIO's
 * records say `minio:s3` and `s3:ObjectCreated:Put` where AWS says `aws:s3` and `ObjectCreated:Put`.
 */
const Notification = z.looseObject({
  Records: z
    .array(
      z.looseObject({
        eventName: z.string().min(1),
        eventTime: z.string().optional(),
        s3: z.looseObject({
          bucket: z.looseObject({ name: z.string().min(1) }),
          object: z.looseObject({
            key: z.string().min(1),
            size: z.number().int().nonnegative().optional(),
            eTag: z.string().optional(),
            sequencer: z.string().optional(),
          }),
        }),
      }),
    )
    .min(1),
});

class NotificationError extends Error {}

/** The records of a MinIO/LocalStack notification (JSON text) as AWS S3 event records. */
export function s3RecordsOfNotification(text: string, region: string): S3EventRecord[] {
  const parsed = Notification.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new NotificationError(`invalid S3 notification: ${describeIssues(parsed.error)}`);
  return parsed.data.Records.map((r) =>
    s3EventRecord({
      bucket: r.s3.bucket.name,
      key: decodeS3Key(r.s3.object.key),
      size: r.s3.object.size,
      eTag: r.s3.object.eTag,
      sequencer: r.s3.object.sequencer,
      eventName: r.eventName.replace(/^s3:/, ""),
      ...(r.eventTime && Number.isFinite(Date.parse(r.eventTime))
        ? { eventTime: new Date(r.eventTime).toISOString() }
        : {}),
      region,
    }),
  );
}

/** An EventBridge scheduled event of the rule `rule`. */
export function scheduledEvent(rule: string, now = new Date()): ScheduledEvent {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: ACCOUNT,
    time: now.toISOString(),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/${rule}`],
    detail: {},
  };
}

/** The Lambda context object of one invocation (fields as the Node.js runtime gives them). */
export interface LambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
  done(): void;
  fail(): void;
  succeed(): void;
}

export function lambdaContext(
  fn: { name: string; memoryMb?: number; timeoutSeconds?: number },
  now = Date.now(),
): LambdaContext {
  const deadline = now + (fn.timeoutSeconds ?? 60) * 1000;
  return {
    functionName: fn.name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fn.name}`,
    memoryLimitInMB: String(fn.memoryMb ?? 512),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `local/[$LATEST]${process.pid}`,
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
