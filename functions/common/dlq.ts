/**
 * The one dead-letter path: a record that is invalid, failed permanently or exhausted its attempts is
 * published to `DLQ-<topic>` as a DlqEnvelope (by the Lambda adapters and by the local runtime alike).
 */
import type { Producer } from "kafkajs";
import { DlqEnvelope, dlqTopic, parseContract } from "./contracts.ts";
import type { Logger } from "./log.ts";

/** The dead record as it was consumed (key and value as text). */
export interface DeadRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
}

/** Who gave up on it, why, and after how many attempts. */
export interface DeadLetter {
  consumerGroup: string;
  functionName: string;
  error: string;
  attempts: number;
}

function dlqEnvelope(record: DeadRecord, letter: DeadLetter, now = new Date()): DlqEnvelope {
  return parseContract(DlqEnvelope, "DLQ envelope", {
    source_topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    value: record.value,
    consumer_group: letter.consumerGroup,
    function: letter.functionName,
    error: letter.error,
    attempts: letter.attempts,
    failed_at: now.toISOString(),
  });
}

/** Publishes the record's envelope to `DLQ-<topic>` (keyed like the record) and logs `dlq_published`. */
export async function publishToDlq(
  producer: Producer,
  logger: Logger,
  record: DeadRecord,
  letter: DeadLetter,
): Promise<DlqEnvelope> {
  const envelope = dlqEnvelope(record, letter);
  await producer.send({
    topic: dlqTopic(record.topic),
    messages: [{ key: envelope.key, value: JSON.stringify(envelope) }],
  });
  logger.error("dlq_published", {
    function: letter.functionName,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    error: letter.error,
    attempts: letter.attempts,
  });
  return envelope;
}
