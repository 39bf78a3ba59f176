/**
 * The Lambda entry points (Middy + Powertools) on real Kafka and MinIO. Only the Lambda service itself
 * cannot run here: the invocation context is a fake (fake AWS Lambda context), the events have the
 * exact S3 and MSK shapes.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { DlqEnvelope } from "../../functions/common/contracts.ts";
import { listKeys, putBytes } from "../../functions/common/s3.ts";
import { s3EventFor } from "../../functions/common/s3-event.ts";
import {
  placeFixtureRun,
  sliceCsv,
  stageAndPreprocess,
  TopicCollector,
  testContext,
  uniqueId,
} from "./pipeline-helpers.ts";

// Lambda configuration of this test's functions (read from the environment at invocation).
process.env.EXPECTED_MODEL_TYPES = "PROPHET";
process.env.PROMOTION_POLICY = "always";

const fakeLambdaContext = (name: string) =>
  ({
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    memoryLimitInMB: "512",
    awsRequestId: uniqueId("req"),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: "test",
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as never;

let ctx: StageContext;
let dlq: TopicCollector;
beforeAll(async () => {
  ctx = await testContext("it-lambda");
  dlq = await TopicCollector.start("DLQ-model-training");
});
afterAll(async () => {
  await dlq?.stop();
  if (ctx) await closeStageContext(ctx);
});

describe("Lambda handlers (fake AWS Lambda context)", () => {
  it("preprocess handles an AWS S3 notification", async () => {
    const id = uniqueId();
    const key = `${id}/PobleSecSlice.csv`;
    await putBytes(ctx.s3, ctx.config.storage.buckets.raw, key, readFileSync(sliceCsv));
    const { handler } = await import("../../functions/preprocess/handler.ts");
    const results = (await handler(
      s3EventFor({ bucket: ctx.config.storage.buckets.raw, key }),
      fakeLambdaContext("preprocess"),
    )) as { status: string }[];
    expect(results.map((r) => r.status)).toEqual(["processed"]);
    expect(
      (await listKeys(ctx.s3, ctx.config.storage.buckets.processed, `${id}/`)).some((k) =>
        k.endsWith("/.meta.json"),
      ),
    ).toBe(true);
  });

  it("evaluate handles an MSK batch: a poison record goes to DLQ-model-training, the valid one is decided", async () => {
    const id = uniqueId();
    const staged = await stageAndPreprocess(ctx, id);
    const success = await placeFixtureRun(ctx, id, staged.config_hash, staged.claim, "PROPHET");
    const record = (offset: number, value: string) => ({
      topic: "model-training",
      partition: 0,
      offset,
      timestamp: Date.now(),
      timestampType: "CREATE_TIME",
      key: Buffer.from(id).toString("base64"),
      value: Buffer.from(value).toString("base64"),
    });
    const event = {
      eventSource: "aws:kafka",
      records: {
        "model-training-0": [
          record(1, `{"identifier":"${id}","status":"DONE"}`),
          record(2, JSON.stringify(success)),
        ],
      },
    };
    const { handler } = await import("../../functions/evaluate/handler.ts");
    const results = (await handler(event, fakeLambdaContext("evaluate"))) as { status: string }[];
    expect(results.map((r) => r.status)).toEqual(["decided"]);
    const [envelope] = await dlq.waitFor("the poison record in the DLQ", (m) =>
      String(m.value ?? "").includes(id),
    );
    expect(DlqEnvelope.parse(envelope)).toMatchObject({
      function: "evaluate",
      source_topic: "model-training",
      offset: "1",
    });
    expect(String(envelope?.error)).toMatch(/status/);
  });
});
