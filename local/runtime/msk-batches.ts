/**
 * A Kafka-triggered function driven as its MSK event-source mapping drives it: the records of a chunk
 * the runtime accepts (its stand-in for the mapping's filter criteria) become one MSK event for the
 * exported handler, which sends invalid and permanently failing records to the DLQ itself; a failed
 * invocation retries the whole batch, then its records go to the DLQ (delivery.ts).
 */
import type { KafkaMessage } from "kafkajs";
import type { z } from "zod";
import { parseContract } from "../../functions/common/contracts.ts";
import type { RecordOutcome } from "../../functions/common/lambda.ts";
import { type Accept, identifierIn } from "./consumer.ts";
import { type BatchRecord, type Delivery, deadOutcome, invokeOrDeadLetter } from "./delivery.ts";
import { mskEvent, mskRecord } from "./events.ts";
import type { LocalFunction } from "./invoke.ts";

/**
 * The record as the batch's input (its valid message, or null), or undefined when it is not this
 * runtime's. An invalid message is always taken (the handler sends it to the DLQ): with no identifier,
 * by every runtime; with one, by the runtime that owns it (as valid messages are scoped).
 */
function select(
  schema: z.ZodType,
  topic: string,
  text: string,
  accept?: Accept,
): { input: unknown } | undefined {
  let message: { identifier?: unknown };
  try {
    message = parseContract(schema, `${topic} message`, JSON.parse(text)) as { identifier?: unknown };
  } catch {
    const named = identifierIn(text);
    return named !== null && accept && !accept(text, named) ? undefined : { input: null };
  }
  const identifier = typeof message.identifier === "string" ? message.identifier : null;
  return !accept || accept(text, identifier) ? { input: message } : undefined;
}

export function mskBatches(
  fn: LocalFunction,
  delivery: Delivery,
  options: { brokers: readonly string[]; accept?: Accept },
): (messages: KafkaMessage[], partition: number) => Promise<void> {
  const schema = fn.schema;
  if (!schema) throw new Error(`${fn.spec.name} has no message schema`);
  return async (messages, partition) => {
    const batch: BatchRecord[] = [];
    for (const message of messages) {
      const text = message.value ? message.value.toString("utf8") : "";
      const selected = select(schema, delivery.topic, text, options.accept);
      if (selected) batch.push({ message, partition, input: selected.input });
    }
    if (batch.length === 0) return;
    const event = mskEvent(
      batch.map(({ message }) => mskRecord(delivery.topic, partition, message)),
      options.brokers,
    );
    const done = await invokeOrDeadLetter(delivery, batch, () => fn.invoke(event));
    if (!done.ok) {
      for (const r of batch) delivery.onOutcome(deadOutcome(delivery, r.input, done.error, done.attempts));
      return;
    }
    for (const r of done.value as RecordOutcome<unknown>[])
      delivery.onOutcome(
        r.ok
          ? { function: fn.spec.name, ok: true, input: r.message, result: r.result, attempts: done.attempts }
          : deadOutcome(delivery, r.message, r.error, done.attempts),
      );
  };
}
