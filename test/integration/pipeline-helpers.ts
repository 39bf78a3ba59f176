/** Shared by the pipeline integration and e2e tests: real Kafka and MinIO, isolated by unique ids. */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Consumer, Kafka } from "kafkajs";
import { loadCommonConfig } from "../../functions/common/config.ts";
import { createStageContext, type StageContext } from "../../functions/common/context.ts";
import { createKafka } from "../../functions/common/kafka.ts";
import { applyLocalServiceEnv } from "../../local/services/env.ts";

export const fixtureData = join(import.meta.dirname, "..", "fixtures", "data");
export const sliceCsv = join(fixtureData, "PobleSecSlice.csv");
export const sliceTestCsv = join(fixtureData, "PobleSecSlice_test.csv");
export const fixtureModels = join(import.meta.dirname, "..", "fixtures", "models");

export const uniqueId = (prefix = "it"): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function testContext(service: string, env: Record<string, string> = {}): Promise<StageContext> {
  applyLocalServiceEnv();
  return createStageContext(service, { ...process.env, ...env });
}

/** Polls `probe` until it returns a non-null value, or fails after `timeoutMs` naming `what`. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | null | undefined> | T | null | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(100); // polling interval of a bounded condition wait
  }
}

/** Collects a topic's messages from "now" on (a fresh group positioned at the end before anything is sent). */
export class TopicCollector {
  readonly messages: { key: string | null; value: string }[] = [];
  private readonly seen = new Map<number, bigint>();
  private constructor(
    private readonly consumer: Consumer,
    private readonly kafka: Kafka,
  ) {}

  private topic = "";

  static async start(topic: string): Promise<TopicCollector> {
    applyLocalServiceEnv();
    const kafka = await createKafka(loadCommonConfig().kafka, "flts-it-collector");
    const groupId = `flts-it-collector-${randomUUID().slice(0, 8)}`;
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({
      groupId,
      topic,
      partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })),
    });
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    const collector = new TopicCollector(consumer, kafka);
    collector.topic = topic;
    let joined: () => void = () => {};
    const join = new Promise<void>((resolve) => {
      joined = resolve;
    });
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        collector.seen.set(partition, BigInt(message.offset));
        collector.messages.push({
          key: message.key?.toString("utf8") ?? null,
          value: message.value?.toString("utf8") ?? "",
        });
      },
    });
    await join;
    return collector;
  }

  /** Messages whose JSON satisfies `match`. */
  matching(match: (doc: Record<string, unknown>) => boolean): Record<string, unknown>[] {
    return this.messages
      .map((m) => {
        try {
          return JSON.parse(m.value) as Record<string, unknown>;
        } catch {
          return null;
        }
      })
      .filter((d): d is Record<string, unknown> => d !== null && match(d));
  }

  async waitFor(
    what: string,
    match: (doc: Record<string, unknown>) => boolean,
    count = 1,
    timeoutMs = 60_000,
  ): Promise<Record<string, unknown>[]> {
    return waitUntil(
      what,
      () => {
        const found = this.matching(match);
        return found.length >= count ? found : null;
      },
      timeoutMs,
    );
  }

  /** Waits until everything on the topic at this moment has been collected (so absences can be asserted). */
  async syncToEnd(timeoutMs = 30_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(this.topic);
    await admin.disconnect();
    await waitUntil(
      `${this.topic} to be consumed to its end`,
      () =>
        offsets.every(
          (o) =>
            BigInt(o.high) === BigInt(o.low) || (this.seen.get(o.partition) ?? -1n) >= BigInt(o.high) - 1n,
        )
          ? true
          : null,
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

export const readFixture = (path: string): Buffer => readFileSync(path);
