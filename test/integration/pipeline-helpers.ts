/** Shared by the pipeline integration and e2e tests: real Kafka and MinIO, isolated by unique ids. */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Consumer, Kafka } from "kafkajs";
import { loadCommonConfig } from "../../functions/common/config.ts";
import { createStageContext, type StageContext } from "../../functions/common/context.ts";
import { ModelCard, type ModelTrainingMessage } from "../../functions/common/contracts.ts";
import { createKafka } from "../../functions/common/kafka.ts";
import { rawKeys, runKeys } from "../../functions/common/keys.ts";
import { putJson, putBytes as putObject } from "../../functions/common/s3.ts";
import { newRunId } from "../../functions/train-dispatch/dispatch.ts";
import { applyLocalServiceEnv } from "../../local/services/env.ts";
import { pollUntil } from "../poll.ts";

export const fixtureData = join(import.meta.dirname, "..", "fixtures", "data");
export const sliceCsv = join(fixtureData, "PobleSecSlice.csv");
export const sliceTestCsv = join(fixtureData, "PobleSecSlice_test.csv");
/**
 * The slice's test file with every value past its first half multiplied by `factor` (the times kept):
 * scoring data that drifts.
 */
export function sliceTestScaled(factor: number): string {
  const [header, ...lines] = readFileSync(sliceTestCsv, "utf8").trim().split("\n");
  const half = Math.floor(lines.length / 2);
  const rows = lines.map((line, i) =>
    i < half
      ? line
      : line
          .split(",")
          .map((cell, c) => (c === 0 ? cell : String(Number(cell) * factor)))
          .join(","),
  );
  return `${[header, ...rows].join("\n")}\n`;
}
export const fixtureModels = join(import.meta.dirname, "..", "fixtures", "models");

export const uniqueId = (prefix = "it"): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function testContext(service: string, env: Record<string, string> = {}): Promise<StageContext> {
  applyLocalServiceEnv();
  return createStageContext(service, { ...process.env, ...env });
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
    return pollUntil(
      what,
      () => {
        const found = this.matching(match);
        return found.length >= count && found;
      },
      { timeoutMs },
    );
  }

  /** Waits until everything on the topic at this moment has been collected (so absences can be asserted). */
  async syncToEnd(timeoutMs = 30_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(this.topic);
    await admin.disconnect();
    await pollUntil(
      `${this.topic} to be consumed to its end`,
      () =>
        offsets.every(
          (o) =>
            BigInt(o.high) === BigInt(o.low) || (this.seen.get(o.partition) ?? -1n) >= BigInt(o.high) - 1n,
        ),
      { timeoutMs },
    );
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/**
 * Uploads the slice (and its _test companion) for `id` to `bucket` and preprocesses it by calling the
 * handler with the settings of `env`.
 */
export async function uploadAndPreprocess(
  ctx: StageContext,
  bucket: string,
  id: string,
  env: Record<string, string | undefined> = {},
) {
  const { preprocessObject } = await import("../../functions/preprocess/preprocess.ts");
  const { loadPreprocessSettings } = await import("../../functions/preprocess/settings.ts");
  const ref = {
    bucket,
    key: rawKeys.series(id, "PobleSecSlice.csv"),
    size: null,
    eTag: null,
    eventName: "ObjectCreated:Put",
  };
  await putObject(ctx.s3, bucket, rawKeys.testCompanion(id, "PobleSecSlice.csv"), readFileSync(sliceTestCsv));
  await putObject(ctx.s3, bucket, ref.key, readFileSync(sliceCsv));
  return { ref, result: await preprocessObject(ref, ctx, loadPreprocessSettings(env)) };
}

/**
 * Puts the slice (and companion) in a staging bucket no trigger watches, and preprocesses it by calling
 * the handler: for tests that need a processed data set without the runtime reacting to the upload.
 */
export async function stageAndPreprocess(ctx: StageContext, id: string) {
  const { CreateBucketCommand, HeadBucketCommand } = await import("@aws-sdk/client-s3");
  const bucket = "flts-test-staging";
  try {
    await ctx.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await ctx.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  // the fixture models (placeFixtureRun) forecast one step: their data set is processed for horizon 1
  const { result } = await uploadAndPreprocess(ctx, bucket, id, { ...ctx.env, HORIZON: "1" });
  if (result.status === "ignored") throw new Error("staged slice was ignored");
  return result;
}

/** Places a fixture model (real trained ONNX) as a finished run of `id`'s data set. */
export async function placeFixtureRun(
  c: StageContext,
  id: string,
  configHash: string,
  claim: unknown,
  type: "GRU" | "LSTM" | "PROPHET",
): Promise<ModelTrainingMessage> {
  const dir = join(fixtureModels, type.toLowerCase());
  const runId = newRunId(id, type, configHash);
  const bucket = c.config.storage.buckets.artifacts;
  const card = ModelCard.parse({
    ...JSON.parse(readFileSync(join(dir, "model.json"), "utf8")),
    run_id: runId,
    identifier: id,
    config_hash: configHash,
    training_data: claim,
    created_at: new Date().toISOString(),
  });
  await putObject(c.s3, bucket, runKeys.onnx(runId), readFileSync(join(dir, "model.onnx")));
  await putJson(c.s3, bucket, runKeys.card(runId), card);
  await putJson(c.s3, bucket, runKeys.metrics(runId), {
    test: card.metrics.test,
    persistence: card.metrics.persistence,
    n_test_windows: 1,
  });
  return {
    operation: `Trained: ${type}`,
    status: "SUCCESS",
    run_id: runId,
    model_type: type,
    config_hash: configHash,
    identifier: id,
    artifact_uri: `s3://${bucket}/runs/${runId}/`,
    metrics: { rmse: 1, mae: 1, mse: 1 },
    error: null,
  };
}
