/**
 * LocalStack mode: the deployed buckets send their ObjectCreated notifications to an SQS queue
 * (local/localstack/deploy.ts); this relays each one onto the runtime's S3-event topic, where every
 * S3-triggered function's consumer group reads it as it reads MinIO's. A message leaves the queue
 * only once Kafka has it.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Producer } from "kafkajs";
import { z } from "zod";
import type { Logger } from "../../functions/common/log.ts";

export interface SqsSourceOptions {
  queueUrl: string;
  region: string;
  topic: string;
  producer: Producer;
  logger: Logger;
}

export interface SqsSource {
  /** Messages relayed so far. */
  relayed(): number;
  stop(): Promise<void>;
}

/** S3's own `s3:TestEvent`, sent when a notification configuration is put: nothing to relay. */
const TestEvent = z.looseObject({ Event: z.literal("s3:TestEvent") });
const Notification = z.looseObject({
  Records: z
    .array(
      z.looseObject({
        s3: z.looseObject({
          bucket: z.looseObject({ name: z.string() }),
          object: z.looseObject({ key: z.string() }),
        }),
      }),
    )
    .min(1),
});

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return null; // relayed as it is: the consumers' decoder sends it to the DLQ
  }
}

const QueueEnv = z.object({ FLTS_S3_EVENTS_QUEUE_URL: z.url().optional() });

/** The queue FLTS_S3_EVENTS_QUEUE_URL names (set in LocalStack mode by local/services/env.ts), or null. */
export function sqsSourceQueue(env: NodeJS.ProcessEnv): string | null {
  const parsed = QueueEnv.safeParse(env);
  if (!parsed.success)
    throw new Error(`FLTS_S3_EVENTS_QUEUE_URL must be a URL, got '${env.FLTS_S3_EVENTS_QUEUE_URL}'`);
  return parsed.data.FLTS_S3_EVENTS_QUEUE_URL ?? null;
}

function kafkaKey(body: string): string | null {
  const parsed = Notification.safeParse(parseBody(body));
  if (!parsed.success) return null;
  const s3 = parsed.data.Records[0]?.s3;
  return s3 ? `${s3.bucket.name}/${s3.object.key}` : null;
}

export function startSqsSource(options: SqsSourceOptions): SqsSource {
  const endpoint = new URL(options.queueUrl).origin;
  const sqs = new SQSClient({
    endpoint,
    region: options.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const abort = new AbortController();
  let relayed = 0;
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
          }),
          { abortSignal: abort.signal },
        );
        const forward = Messages.filter((m) => m.Body && !TestEvent.safeParse(parseBody(m.Body)).success);
        if (forward.length > 0)
          await options.producer.send({
            topic: options.topic,
            messages: forward.map((m) => ({ key: kafkaKey(m.Body as string), value: m.Body as string })),
          });
        if (Messages.length > 0)
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        relayed += forward.length;
      } catch (error) {
        if (abort.signal.aborted) break;
        // Unrelayed messages become visible again after the queue's visibility timeout.
        options.logger.error("sqs_source_failed", {
          queue: options.queueUrl,
          error: (error as Error).message,
        });
        await new Promise((resolve) => setTimeout(resolve, 1000)); // back-off before the next receive
      }
    }
  })();
  return {
    relayed: () => relayed,
    stop: async () => {
      abort.abort();
      await loop;
      sqs.destroy();
    },
  };
}
