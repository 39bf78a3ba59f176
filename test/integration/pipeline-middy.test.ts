/**
 * What runs locally is what runs in Lambda: the local runtime invokes preprocess's exported Middy
 * handler with an S3 event made from MinIO's notification, and its Powertools output (Logger JSON with
 * the Lambda context, EMF metrics) lands where the local CLIs route logs (local/log-files.ts).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { putBytes } from "../../functions/common/s3.ts";
import { PIPELINE_METRICS } from "../../infra/metrics.ts";
import { routeLogsToFiles } from "../../local/log-files.ts";
import type { Outcome } from "../../local/runtime/consumer.ts";
import { type Runtime, startRuntime } from "../../local/runtime/runtime.ts";
import { pollUntil } from "../poll.ts";
import { sliceCsv, testContext, uniqueId } from "./pipeline-helpers.ts";

const filePrefix = uniqueId("middy");
const logs = routeLogsToFiles([], mkdtempSync(join(tmpdir(), "flts-middy-logs-")));
let ctx: StageContext;
let runtime: Runtime;
const outcomes: Outcome<unknown>[] = [];

beforeAll(async () => {
  ctx = await testContext("it-middy");
  runtime = await startRuntime({
    env: process.env,
    groupSuffix: filePrefix,
    startAt: "latest",
    functions: ["preprocess"],
    accept: (_text, id) => id?.startsWith(filePrefix) ?? false,
    trainer: null,
  });
  runtime.events.on("outcome", (o: Outcome<unknown>) => outcomes.push(o));
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  if (ctx) await closeStageContext(ctx);
});

const records = (service: string) =>
  readFileSync(join(logs, `${service}.log`), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const metricNames = (record: Record<string, unknown>) =>
  ((record._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics ?? []).flatMap(
    (d) => d.Metrics.map((m) => m.Name),
  );

describe("the local runtime invokes the exported Middy handler", () => {
  it("preprocess logs a cold start with its Lambda context and emits EMF metrics", async () => {
    const id = `${filePrefix}-a`;
    await putBytes(ctx.s3, ctx.config.storage.buckets.raw, `${id}/PobleSecSlice.csv`, readFileSync(sliceCsv));
    const done = await pollUntil("preprocess's outcome", () =>
      outcomes.find((o) => o.function === "preprocess" && JSON.stringify(o).includes(id)),
    );
    expect(done).toMatchObject({ ok: true, attempts: 1, result: { status: "processed" } });

    const lines = records("preprocess");
    const logged = lines.find((r) => r.message === "preprocess_done" && JSON.stringify(r).includes(id));
    expect(logged).toMatchObject({
      level: "INFO",
      service: "preprocess",
      cold_start: true,
      function_name: "preprocess",
      function_memory_size: "2048",
      function_request_id: expect.any(String),
    });

    const emf = lines.filter((r) => "_aws" in r);
    const processed = emf.find((r) => metricNames(r).includes(PIPELINE_METRICS.objectsProcessed));
    expect(processed).toMatchObject({ service: "preprocess", [PIPELINE_METRICS.objectsProcessed]: 1 });
    const coldStart = emf.find((r) => metricNames(r).includes("ColdStart"));
    expect(coldStart).toMatchObject({ service: "preprocess", function_name: "preprocess", ColdStart: 1 });
  }, 120_000);
});
