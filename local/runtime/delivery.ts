/**
 * How a batch reaches a function and what happens when it cannot: the invocation is retried as a whole
 * (retry.ts: backoff, outages waited out), and after the last attempt every record of the batch goes
 * to `DLQ-<topic>` (functions/common/dlq.ts), as the event-source mapping's on-failure destination.
 */
import type { KafkaMessage, Producer } from "kafkajs";
import { type DeadRecord, publishToDlq } from "../../functions/common/dlq.ts";
import type { Logger } from "../../functions/common/log.ts";
import type { Outcome } from "./consumer.ts";
import { withRetries } from "./retry.ts";

export interface Delivery {
  functionName: string;
  topic: string;
  groupId: string;
  maxAttempts: number;
  producer: Producer;
  logger: Logger;
  onOutcome: (outcome: Outcome<unknown>) => void;
}

/** A consumed record and what the runtime made of it (the outcome's input; null when undecodable). */
export interface BatchRecord {
  message: KafkaMessage;
  partition: number;
  input: unknown;
}

function deadRecord(topic: string, { message, partition }: BatchRecord): DeadRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString("utf8") : null,
    value: message.value ? message.value.toString("utf8") : "",
  };
}

/** Sends one record to the DLQ. */
export async function deadLetter(d: Delivery, record: BatchRecord, error: string, attempts: number) {
  await publishToDlq(d.producer, d.logger, deadRecord(d.topic, record), {
    consumerGroup: d.groupId,
    functionName: d.functionName,
    error,
    attempts,
  });
}

/** The failed outcome of an input that went to the DLQ. */
export function deadOutcome(d: Delivery, input: unknown, error: string, attempts: number): Outcome<unknown> {
  return { function: d.functionName, ok: false, input, error, attempts, dlq: true };
}

export type Invocation<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; error: string; attempts: number };

/** Invokes until it succeeds or the attempts are spent; then every one of `records` goes to the DLQ. */
export async function invokeOrDeadLetter<T>(
  d: Delivery,
  records: readonly BatchRecord[],
  invoke: () => Promise<T>,
): Promise<Invocation<T>> {
  const outcome = await withRetries(d.maxAttempts, invoke, 250, (attempt, error) =>
    d.logger.warn("handler_retry", {
      function: d.functionName,
      attempt,
      error: (error as Error).message,
    }),
  );
  if (outcome.ok) return { ok: true, value: outcome.value as T, attempts: outcome.attempts };
  const error = (outcome.error as Error)?.message ?? String(outcome.error);
  d.logger.error("handler_failed", { function: d.functionName, error, attempts: outcome.attempts });
  for (const record of records) await deadLetter(d, record, error, outcome.attempts);
  return { ok: false, error, attempts: outcome.attempts };
}
