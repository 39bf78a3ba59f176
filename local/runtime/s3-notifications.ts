/**
 * An S3-triggered function driven by the bucket notifications on the S3-event topic, as S3 invokes it:
 * each notification's records that match the function's trigger become one S3 event (AWS-shaped) for
 * the exported handler, retried up to `maxAttempts` (S3's asynchronous invocation), then the
 * notification goes to the DLQ. A notification that is not one goes to the DLQ at once.
 */
import type { KafkaMessage } from "kafkajs";
import type { StorageConfig } from "../../functions/common/config.ts";
import { isObjectCreated, objectRefOf } from "../../functions/common/s3-event.ts";
import { type Accept, identifierIn } from "./consumer.ts";
import { type Delivery, deadLetter, deadOutcome, invokeOrDeadLetter } from "./delivery.ts";
import { type S3EventRecord, s3Event, s3RecordsOfNotification } from "./events.ts";
import type { LocalFunction } from "./invoke.ts";
import { identifierOfObject, matchesS3Trigger } from "./s3-routing.ts";

export function s3Notifications(
  fn: LocalFunction,
  delivery: Delivery,
  options: { storage: StorageConfig; accept?: Accept },
): (messages: KafkaMessage[], partition: number) => Promise<void> {
  const trigger = fn.spec.trigger;
  if (trigger.kind !== "s3") throw new Error(`${fn.spec.name} is not S3-triggered`);
  const { storage, accept } = options;
  const one = async (message: KafkaMessage, partition: number) => {
    const text = message.value ? message.value.toString("utf8") : "";
    let records: S3EventRecord[];
    try {
      records = s3RecordsOfNotification(text, storage.region);
    } catch (error) {
      const named = identifierIn(text);
      if (named !== null && accept && !accept(text, named)) return;
      const reason = `invalid message: ${(error as Error).message}`;
      await deadLetter(delivery, { message, partition, input: null }, reason, 1);
      delivery.onOutcome(deadOutcome(delivery, null, reason, 1));
      return;
    }
    const mine = records
      .map((record) => ({ record, ref: objectRefOf(record) }))
      .filter(({ ref }) => isObjectCreated(ref) && matchesS3Trigger(trigger, ref, storage));
    const first = mine[0];
    if (!first || (accept && !accept(text, identifierOfObject(first.ref, storage)))) return;
    const event = s3Event(mine.map(({ record }) => record));
    const done = await invokeOrDeadLetter(delivery, [{ message, partition, input: null }], () =>
      fn.invoke(event),
    );
    mine.forEach(({ ref }, i) => {
      delivery.onOutcome(
        done.ok
          ? {
              function: fn.spec.name,
              ok: true,
              input: ref,
              result: (done.value as unknown[])[i],
              attempts: done.attempts,
            }
          : deadOutcome(delivery, ref, done.error, done.attempts),
      );
    });
  };
  return async (messages, partition) => {
    for (const message of messages) await one(message, partition);
  };
}
