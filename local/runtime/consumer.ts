/**
 * One function's consumer, the way an MSK event-source mapping drives a Lambda: a consumer group,
 * batches (chunks of `batchSize`), retries with backoff, then `DLQ-<topic>` with a DlqEnvelope.
 * Messages that cannot be decoded go to the DLQ at once. Offsets are committed after each chunk.
 */
import type { Admin, Consumer, Kafka, KafkaMessage, Producer } from "kafkajs";
import { DlqEnvelope, dlqTopic, parseContract } from "../../functions/common/contracts.ts";
import type { Logger } from "../../functions/common/log.ts";
import { withRetries } from "./retry.ts";

export interface Decoded<I> {
  inputs: I[];
  /** The identifier the message belongs to, where it can be told (for scoping). */
  identifier: string | null;
}

export interface ConsumerSpec<I> {
  functionName: string;
  topic: string;
  groupId: string;
  batchSize: number;
  maxAttempts: number;
  /** "committed": resume the group (a new group starts at the earliest offset); "latest": start at the end. */
  startAt: "committed" | "latest";
  /** Throws for messages that can never be handled (they go to the DLQ). */
  decode: (text: string) => Decoded<I>;
  handle: (input: I) => Promise<unknown>;
  /** Messages not accepted are skipped (committed without handling). */
  accept?: (text: string, identifier: string | null) => boolean;
  onOutcome: (outcome: Outcome<I>) => void;
}

export type Outcome<I> =
  | { function: string; ok: true; input: I; result: unknown; attempts: number }
  | { function: string; ok: false; input: I | null; error: string; attempts: number; dlq: boolean };

export interface RunningConsumer {
  consumer: Consumer;
  joined: Promise<void>;
  stop(): Promise<void>;
}

async function moveToLatest(admin: Admin, groupId: string, topic: string): Promise<void> {
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({
    groupId,
    topic,
    partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })),
  });
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

export async function startConsumer<I>(
  kafka: Kafka,
  admin: Admin,
  producer: Producer,
  logger: Logger,
  spec: ConsumerSpec<I>,
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

  const toDlq = async (message: KafkaMessage, partition: number, error: string, attempts: number) => {
    const envelope = parseContract(DlqEnvelope, "DLQ envelope", {
      source_topic: spec.topic,
      partition,
      offset: message.offset,
      key: message.key ? message.key.toString("utf8") : null,
      value: message.value ? message.value.toString("utf8") : "",
      consumer_group: spec.groupId,
      function: spec.functionName,
      error,
      attempts,
      failed_at: new Date().toISOString(),
    });
    await producer.send({
      topic: dlqTopic(spec.topic),
      messages: [{ key: envelope.key, value: JSON.stringify(envelope) }],
    });
    logger.error("dlq_published", {
      function: spec.functionName,
      topic: spec.topic,
      partition,
      offset: message.offset,
      error,
      attempts,
    });
  };

  const processMessage = async (message: KafkaMessage, partition: number) => {
    const text = message.value ? message.value.toString("utf8") : "";
    let decoded: Decoded<I>;
    try {
      decoded = spec.decode(text);
    } catch (error) {
      // A message that fails validation always goes to the DLQ: with no identifier, from every runtime;
      // with one, from the runtime that owns it (as valid messages are scoped).
      const named = identifierIn(text);
      if (named !== null && spec.accept && !spec.accept(text, named)) return;
      const reason = `invalid message: ${(error as Error).message}`;
      await toDlq(message, partition, reason, 1);
      spec.onOutcome({
        function: spec.functionName,
        ok: false,
        input: null,
        error: reason,
        attempts: 1,
        dlq: true,
      });
      return;
    }
    if (spec.accept && !spec.accept(text, decoded.identifier)) return;
    for (const input of decoded.inputs) {
      const outcome = await withRetries(
        spec.maxAttempts,
        () => spec.handle(input),
        250,
        (attempt, error) =>
          logger.warn("handler_retry", {
            function: spec.functionName,
            attempt,
            error: (error as Error).message,
          }),
      );
      if (outcome.ok) {
        spec.onOutcome({
          function: spec.functionName,
          ok: true,
          input,
          result: outcome.value,
          attempts: outcome.attempts,
        });
      } else {
        const reason = (outcome.error as Error)?.message ?? String(outcome.error);
        logger.error("handler_failed", {
          function: spec.functionName,
          error: reason,
          attempts: outcome.attempts,
        });
        await toDlq(message, partition, reason, outcome.attempts);
        spec.onOutcome({
          function: spec.functionName,
          ok: false,
          input,
          error: reason,
          attempts: outcome.attempts,
          dlq: true,
        });
      }
    }
  };

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      for (let i = 0; i < batch.messages.length; i += spec.batchSize) {
        for (const message of batch.messages.slice(i, i + spec.batchSize)) {
          if (!isRunning() || isStale()) return;
          await processMessage(message, batch.partition);
          resolveOffset(message.offset);
          await heartbeat();
        }
        const last = batch.messages[Math.min(i + spec.batchSize, batch.messages.length) - 1];
        if (last) {
          await consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
          ]);
        }
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
