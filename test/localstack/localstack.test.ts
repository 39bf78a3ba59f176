/**
 * Real LocalStack (native, community), started here when it is not up: the CDK data stack deployed
 * by cdklocal; one pipeline run on LocalStack storage (real Kafka, trainers, 1 epoch) ending in a
 * promotion whose model, pointer and inference log are read back from LocalStack's S3; and a stage's
 * EMF metric read back from LocalStack CloudWatch. One file, so LocalStack starts once.
 */
import { readFileSync } from "node:fs";
import { GetMetricStatisticsCommand } from "@aws-sdk/client-cloudwatch";
import {
  GetBucketEncryptionCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCommonConfig } from "../../functions/common/config.ts";
import { PromotionPointer } from "../../functions/common/contracts.ts";
import { promotionKeys } from "../../functions/common/keys.ts";
import {
  createS3Client,
  exists,
  getBytes,
  getJson,
  getJsonIfExists,
  listKeys,
} from "../../functions/common/s3.ts";
import { loadInferenceConfig } from "../../functions/inference/config.ts";
import { startInferenceService } from "../../functions/inference/service.ts";
import { PIPELINE_METRICS, PIPELINE_NAMESPACE } from "../../infra/metrics.ts";
import { deployDataStack, deployedStacks } from "../../local/localstack/deploy.ts";
import { DATA_STACK, readDataStackOutputs, S3_EVENTS_QUEUE } from "../../local/localstack/outputs.ts";
import type { PipelineSummary } from "../../local/runtime/summary.ts";
import { localServiceEnv } from "../../local/services/env.ts";
import { runCli } from "../cli-process.ts";
import { sliceCsv, sliceTestCsv, uniqueId } from "../integration/pipeline-helpers.ts";
import {
  type LocalStackFixture,
  lastRowsBody,
  localstackCloudWatch,
  localstackS3,
  useLocalStack,
} from "./setup.ts";

let ls: LocalStackFixture;
let s3: S3Client;

beforeAll(async () => {
  ls = await useLocalStack();
  s3 = localstackS3(ls);
});
afterAll(async () => {
  s3?.destroy();
  await ls?.stop();
});

describe("the data stack on LocalStack", () => {
  it("is deployed, and deploying again with nothing changed does nothing", async () => {
    expect(await deployedStacks(ls)).toEqual(expect.arrayContaining(["CDKToolkit", DATA_STACK]));
    expect(await deployDataStack(ls, () => {})).toEqual({ bootstrapped: false, deployed: false });
  });

  it("names its five buckets in its outputs, and the stage environment uses them", () => {
    const outputs = readDataStackOutputs();
    expect(Object.keys(outputs).sort()).toEqual([
      "ArtifactsBucket",
      "InferenceLogsBucket",
      "ProcessedBucket",
      "PromotionBucket",
      "RawBucket",
    ]);
    expect(ls.env.RAW_BUCKET).toBe(outputs.RawBucket);
    expect(ls.env.INFERENCE_LOGS_BUCKET).toBe(outputs.InferenceLogsBucket);
    expect(ls.env.FLTS_S3_ENDPOINT).toBe(ls.endpoint);
    for (const bucket of Object.values(outputs)) expect(bucket).toMatch(/^flts-dev-data-/);
  });

  it("has every bucket encrypted (SSE-S3) and notifying the SQS queue; raw and promotion versioned", async () => {
    const outputs = readDataStackOutputs();
    const versioned = new Set([outputs.RawBucket, outputs.PromotionBucket]);
    for (const bucket of Object.values(outputs)) {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
      expect(
        encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault
          ?.SSEAlgorithm,
        bucket,
      ).toBe("AES256");
      const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
      expect(versioning.Status ?? "Off", bucket).toBe(versioned.has(bucket) ? "Enabled" : "Off");
      const notification = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
      expect(notification.QueueConfigurations?.[0]?.QueueArn, bucket).toMatch(
        new RegExp(`:${S3_EVENTS_QUEUE}$`),
      );
    }
  });
});

const runPipeline = (args: string[], env: Record<string, string>, timeoutMs: number) =>
  runCli("local/pipeline-cli.ts", args, { env: { ...env, TRAINER_CONCURRENCY: "2" }, timeoutMs });

describe("FLTS_STORAGE=localstack: the pipeline on LocalStack's S3", () => {
  const identifier = uniqueId("ls-e2e");
  const startedAt = new Date(Date.now() - 60_000);
  let pointer: PromotionPointer;

  it("runs the slice to a promotion; model and pointer are in LocalStack's buckets, not MinIO's", async () => {
    const run = await runPipeline(
      ["--data", sliceCsv, "--identifier", identifier, "--max-epochs", "1"],
      {
        ...ls.env,
        FLTS_STORAGE: "localstack",
        // the two fast families and the ENSEMBLE built from them (its members read back from LocalStack's S3);
        // the gate judges every step of a 1-epoch model, so `always` makes the promotion known
        EXPECTED_MODEL_TYPES: "LINEAR,GBDT",
        PROMOTION_POLICY: "always",
      },
      480_000,
    );
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(run.stdout.trim().split("\n").at(-1) as string) as PipelineSummary;
    expect(summary.runs.map((r) => [r.model_type, r.status])).toEqual([
      ["ENSEMBLE", "SUCCESS"],
      ["GBDT", "SUCCESS"],
      ["LINEAR", "SUCCESS"],
    ]);
    expect(summary.promoted).not.toBeNull();
    const { buckets } = loadCommonConfig(ls.env).storage;
    expect(buckets.promotion).toBe(readDataStackOutputs().PromotionBucket);
    pointer = await getJson(s3, buckets.promotion, promotionKeys.current(identifier), PromotionPointer);
    expect(pointer.run_id).toBe(summary.promoted?.run_id);
    const model = new URL(pointer.model_uri);
    expect(model.hostname).toBe(buckets.artifacts);
    expect(await exists(s3, buckets.artifacts, model.pathname.slice(1))).toBe(true);
    const minio = createS3Client(loadCommonConfig({ ...localServiceEnv(undefined, "minio") }).storage);
    try {
      const inMinio = await getJsonIfExists(
        minio,
        loadCommonConfig().storage.buckets.promotion,
        promotionKeys.current(identifier),
        PromotionPointer,
      );
      expect(inMinio).toBeNull();
    } finally {
      minio.destroy();
    }
  }, 500_000);

  it("serves the promoted model from LocalStack and writes the inference log there", async () => {
    expect(pointer, "the pipeline run must have promoted").toBeDefined();
    const service = await startInferenceService(
      loadInferenceConfig({
        ...process.env,
        ...ls.env,
        PORT: "0",
        HOST: "127.0.0.1",
        MODEL_IDENTIFIER: identifier,
        GLOBAL_FALLBACK: "0",
        KAFKA_LISTEN: "0",
        POINTER_POLL_MS: "0",
        INFERENCE_LOG_FLUSH_MS: "600000",
      }),
    );
    let stopped = false;
    try {
      const current = (await (
        await fetch(`${service.url}/models/current?identifier=${identifier}`)
      ).json()) as {
        card?: { window?: number };
      };
      const body = lastRowsBody(readFileSync(sliceTestCsv, "utf8"), current.card?.window ?? 10);
      const response = await fetch(`${service.url}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": `${identifier}-req` },
        body: JSON.stringify(body),
      });
      expect(response.status, await response.clone().text()).toBe(200);
      await service.stop(); // flushes the inference log
      stopped = true;
    } finally {
      if (!stopped) await service.stop();
    }
    const bucket = readDataStackOutputs().InferenceLogsBucket;
    const keys = await listKeys(s3, bucket, `${identifier}/`);
    expect(keys).toHaveLength(1);
    const record = JSON.parse(
      Buffer.from(await getBytes(s3, bucket, keys[0] as string))
        .toString("utf8")
        .trim(),
    );
    expect(record).toMatchObject({ identifier, run_id: pointer.run_id, request_id: `${identifier}-req` });
  }, 120_000);

  it("publishes the stages' EMF metrics to LocalStack CloudWatch (what the dashboard plots)", async () => {
    const cloudwatch = localstackCloudWatch(ls);
    try {
      const stats = await cloudwatch.send(
        new GetMetricStatisticsCommand({
          Namespace: PIPELINE_NAMESPACE,
          MetricName: PIPELINE_METRICS.objectsProcessed,
          Dimensions: [{ Name: "service", Value: "preprocess" }],
          StartTime: startedAt,
          EndTime: new Date(Date.now() + 60_000),
          Period: 60,
          Statistics: ["Sum"],
        }),
      );
      const sum = (stats.Datapoints ?? []).reduce((total, d) => total + (d.Sum ?? 0), 0);
      // The run uploaded the slice and its _test companion: preprocess handled (at least) both.
      expect(sum).toBeGreaterThanOrEqual(2);
    } finally {
      cloudwatch.destroy();
    }
  });
});
