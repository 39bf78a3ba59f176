/**
 * One function's consumer group, the way an MSK event-source mapping polls for a Lambda: batches of
 * the topic's records in chunks of `batchSize`, each chunk handed to the function's driver
 * (msk-batches.ts, s3-notifications.ts) and committed once the driver is done with it.
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from "kafkajs";

/** The runtime's scope: only messages this accepts are handled (others are skipped). */
export type Accept = (text: string, identifier: string | null) => boolean;

export interface ConsumerSpec {
  topic: string;
  groupId: string;
  batchSize: number;
  /** "committed": resume the group (a new group starts at the earliest offset); "latest": start at the end. */
  startAt: "committed" | "latest";
  /** Handles one chunk of a partition's messages: every one handled, skipped or sent to the DLQ. */
  handleBatch: (messages: KafkaMessage[], partition: number) => Promise<void>;
}

export type Outcome<I> =
  | { function: string; ok: true; input: I; result: unknown; attempts: number }
  | { function: string; ok: false; input: I | null; error: string; attempts: number; dlq: boolean };

export interface RunningConsumer {
  consumer: Consumer;
  joined: Promise<void>;
  stop(): Promise<void>;
}

/** The string `identifier` of an undecodable message, when it is a JSON object that has one. */
export function identifierIn(text: string): string | null {
  try {
    const doc = JSON.parse(text) as { identifier?: unknown } | null;
    return typeof doc?.identifier === "string" && doc.identifier !== "" ? doc.identifier : null;
  } catch {
    return null;
  }
}

async function moveToLatest(admin: Admin, groupId: string, topic: string): Promise<void> {
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({
    groupId,
    topic,
    partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })),
  });
}

/** Heartbeats while `work` runs (an invocation can outlast the session timeout's share). */
async function beating<T>(heartbeat: () => Promise<void>, work: Promise<T>): Promise<T> {
  const timer = setInterval(() => heartbeat().catch(() => undefined), 3_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

export async function startConsumer(
  kafka: Kafka,
  admin: Admin,
  spec: ConsumerSpec,
): Promise<RunningConsumer> {
  if (spec.startAt === "latest") await moveToLatest(admin, spec.groupId, spec.topic);
  const consumer = kafka.consumer({
    groupId: spec.groupId,
    sessionTimeout: 120_000,
    rebalanceTimeout: 120_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
    retry: { retries: 10 },
  });
  let markJoined: () => void = () => {};
  const joined = new Promise<void>((resolve) => {
    markJoined = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => markJoined());
  await consumer.connect();
  await consumer.subscribe({ topic: spec.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (let i = 0; i < batch.messages.length; i += spec.batchSize) {
        if (!isRunning() || isStale()) return;
        const chunk = batch.messages.slice(i, i + spec.batchSize);
        const last = chunk[chunk.length - 1];
        if (!last) continue;
        await beating(heartbeat, spec.handleBatch(chunk, batch.partition));
        resolveOffset(last.offset);
        await heartbeat();
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
        ]);
      }
    },
  });
  return {
    consumer,
    joined,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}
