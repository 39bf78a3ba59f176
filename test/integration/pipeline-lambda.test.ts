/**
 * The Lambda entry points (Middy + Powertools) on real Kafka and MinIO, called directly with fakes of
 * what the Lambda service gives them: an S3 notification and an MSK event-source mapping batch, and
 * the invocation context (local/runtime/events.ts, the builders the local runtime invokes them with).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { DlqEnvelope } from "../../functions/common/contracts.ts";
import type { RecordOutcome } from "../../functions/common/lambda.ts";
import { listKeys, putBytes } from "../../functions/common/s3.ts";
import { lambdaContext, mskEvent, mskRecord, s3Event, s3EventRecord } from "../../local/runtime/events.ts";
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

describe("Lambda handlers (fake S3 and MSK event-source events, fake Lambda context)", () => {
  it("preprocess handles an AWS S3 notification", async () => {
    const id = uniqueId();
    const key = `${id}/PobleSecSlice.csv`;
    await putBytes(ctx.s3, ctx.config.storage.buckets.raw, key, readFileSync(sliceCsv));
    const { handler } = await import("../../functions/preprocess/handler.ts");
    const results = (await handler(
      s3Event([s3EventRecord({ bucket: ctx.config.storage.buckets.raw, key })]),
      lambdaContext({ name: "preprocess" }),
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
    const event = mskEvent([
      mskRecord("model-training", 0, { offset: 1, key: id, value: `{"identifier":"${id}","status":"DONE"}` }),
      mskRecord("model-training", 0, { offset: 2, key: id, value: JSON.stringify(success) }),
    ]);
    const { handler } = await import("../../functions/evaluate/handler.ts");
    const outcomes = (await handler(event, lambdaContext({ name: "evaluate" }))) as RecordOutcome<{
      status: string;
    }>[];
    expect(outcomes.map((o) => [o.offset, o.ok ? o.result.status : "dlq"])).toEqual([
      ["1", "dlq"],
      ["2", "decided"],
    ]);
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
