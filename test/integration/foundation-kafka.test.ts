import { randomUUID } from "node:crypto";
import { type Consumer, Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";

const brokers = [process.env.KAFKA_BROKERS ?? "127.0.0.1:9092"];
const kafka = new Kafka({ clientId: "foundation-test", brokers, logLevel: logLevel.ERROR });

/** Consumes until `count` messages arrived, then stops; resolves with their values in order. */
async function consumeExactly(consumer: Consumer, topic: string, count: number): Promise<string[]> {
  const received: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received.length}/${count} messages`)), 60_000);
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          received.push(message.value?.toString() ?? "");
          await consumer.commitOffsets([
            { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
          ]);
          if (received.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return received;
}

describe("kafkajs against the real local broker", () => {
  const topic = `foundation-${randomUUID().slice(0, 8)}`;
  const groupId = `foundation-group-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  const producer = kafka.producer();

  afterAll(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("delivers produced messages to a consumer group and resumes from the committed offset after a restart", async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();
    const first = Array.from({ length: 5 }, (_, i) => `m${i}`);
    await producer.send({ topic, messages: first.map((value) => ({ value })) });

    const firstRun = await consumeExactly(kafka.consumer({ groupId }), topic, 5);
    expect(firstRun).toEqual(first);

    const second = Array.from({ length: 3 }, (_, i) => `n${i}`);
    await producer.send({ topic, messages: second.map((value) => ({ value })) });
    const afterRestart = await consumeExactly(kafka.consumer({ groupId }), topic, 3);
    // No message lost, none read twice: the restarted consumer sees exactly the new ones.
    expect(afterRestart).toEqual(second);

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0]?.partitions[0]?.offset).toBe("8");
  });
});
