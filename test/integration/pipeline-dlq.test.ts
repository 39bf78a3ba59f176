/**
 * Dead messages on real Kafka and MinIO: a claim check naming objects that do not exist, and invalid
 * messages without an identifier, go to `DLQ-training-data` with the reason, through the local
 * runtime and through the Lambda adapter (fake AWS Lambda context); nothing is launched or guarded.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { DlqEnvelope, type TrainingDataMessage } from "../../functions/common/contracts.ts";
import type { RecordOutcome } from "../../functions/common/lambda.ts";
import { listKeys } from "../../functions/common/s3.ts";
import { registerTrainerLauncher } from "../../functions/train-dispatch/backends.ts";
import type { Outcome } from "../../local/runtime/consumer.ts";
import { lambdaContext, mskEvent, mskRecord } from "../../local/runtime/events.ts";
import { type Runtime, startRuntime } from "../../local/runtime/runtime.ts";
import { pollUntil } from "../poll.ts";
import { TopicCollector, testContext, uniqueId } from "./pipeline-helpers.ts";

const filePrefix = uniqueId("dlq");
const env = { EXPECTED_MODEL_TYPES: "PROPHET", TRAINER_BACKEND: "local" };
let ctx: StageContext;
let runtime: Runtime;
let dlq: TopicCollector;
const outcomes: Outcome<unknown>[] = [];
// Counts launches: nothing may be launched for a dead claim check (fake launcher, no trainer runs).
const launched: string[] = [];

beforeAll(async () => {
  ctx = await testContext("it-dlq", env);
  runtime = await startRuntime({
    env: { ...process.env, ...env },
    groupSuffix: filePrefix,
    startAt: "latest",
    functions: ["train-dispatch"],
    // Scoped to this file's identifiers, as a CLI run is: a message without one is never "ours".
    accept: (_text, id) => id?.startsWith(filePrefix) ?? false,
    trainer: null,
  });
  registerTrainerLauncher("local", {
    launch: async (spec) => {
      launched.push(spec.run_id);
      return { backend: "local", handle: "counted" };
    },
  });
  runtime.events.on("outcome", (o: Outcome<unknown>) => outcomes.push(o));
  dlq = await TopicCollector.start("DLQ-training-data");
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  await dlq?.stop();
  if (ctx) await closeStageContext(ctx);
});

function missingClaim(id: string): TrainingDataMessage {
  const hash = randomBytes(32).toString("hex");
  return {
    bucket: ctx.config.storage.buckets.processed,
    object_key: `${id}/${hash}/train.parquet`,
    test_object_key: `${id}/${hash}/test.parquet`,
    config_hash: hash,
    identifier: id,
    v: 1,
    size: 1234,
  };
}

async function assertNothingDispatched(claim: TrainingDataMessage): Promise<void> {
  const artifacts = ctx.config.storage.buckets.artifacts;
  expect(await listKeys(ctx.s3, artifacts, `guards/${claim.config_hash}/`)).toEqual([]);
  expect(await listKeys(ctx.s3, artifacts, `runs/${claim.identifier}-`)).toEqual([]);
  expect(launched.filter((r) => r.startsWith(claim.identifier))).toEqual([]);
}

describe("DLQ-training-data (local runtime)", () => {
  it("a claim check naming objects that do not exist: DLQ with the reason, no trainer, no guard", async () => {
    const claim = missingClaim(`${filePrefix}-missing`);
    await ctx.producer.send({
      topic: "training-data",
      messages: [{ key: claim.identifier, value: JSON.stringify(claim) }],
    });
    const [doc] = await dlq.waitFor("the dead claim check", (m) =>
      String(m.value ?? "").includes(claim.config_hash),
    );
    const envelope = DlqEnvelope.parse(doc);
    expect(envelope).toMatchObject({
      function: "train-dispatch",
      attempts: 1,
      source_topic: "training-data",
    });
    expect(envelope.error).toContain("training-data claim check names objects that do not exist");
    expect(envelope.error).toContain(`s3://${claim.bucket}/${claim.object_key}`);
    expect(envelope.error).toContain(`s3://${claim.bucket}/${claim.test_object_key}`);
    await assertNothingDispatched(claim);
  }, 60_000);

  it("an invalid message without an identifier goes to the DLQ (not skipped)", async () => {
    const tag = `${filePrefix}-noid`;
    await ctx.producer.send({
      topic: "training-data",
      messages: [{ value: JSON.stringify({ bucket: 5, note: tag }) }, { value: `garbage ${tag}` }],
    });
    const dead = await dlq.waitFor(
      "both invalid messages from this runtime",
      (m) => String(m.value ?? "").includes(tag) && String(m.consumer_group).endsWith(filePrefix),
      2,
    );
    for (const doc of dead) expect(DlqEnvelope.parse(doc).error).toMatch(/^invalid message: /);
    expect(dead.map((d) => String(d.error)).join(" ")).toMatch(/object_key/);
    await pollUntil(
      "the outcomes of both",
      () => outcomes.filter((o) => !o.ok && o.dlq && o.input === null).length >= 2,
    );
  }, 60_000);
});

describe("DLQ-training-data (Lambda adapter, fake MSK event-source batch and Lambda context)", () => {
  it("sends a dead claim check and an invalid message without identifier to the DLQ; launches nothing", async () => {
    process.env.EXPECTED_MODEL_TYPES = "PROPHET";
    process.env.TRAINER_BACKEND = "local";
    const claim = missingClaim(`${filePrefix}-lambda`);
    const tag = `${filePrefix}-lambda-noid`;
    const event = mskEvent([
      mskRecord("training-data", 0, { offset: 7, value: JSON.stringify({ size: -1, note: tag }) }),
      mskRecord("training-data", 0, { offset: 8, value: JSON.stringify(claim) }),
    ]);
    const { handler } = await import("../../functions/train-dispatch/handler.ts");
    const outcomes = (await handler(
      event,
      lambdaContext({ name: "train-dispatch" }),
    )) as RecordOutcome<unknown>[];
    expect(outcomes.map((o) => [o.offset, o.ok])).toEqual([
      ["7", false],
      ["8", false],
    ]);
    const lambdaDead = (m: Record<string, unknown>) =>
      m.consumer_group === "flts-train-dispatch" &&
      (String(m.value).includes(tag) || String(m.value).includes(claim.config_hash));
    const dead = await dlq.waitFor("both records from the Lambda", lambdaDead, 2);
    const byOffset = Object.fromEntries(dead.map((d) => [String(d.offset), DlqEnvelope.parse(d)]));
    expect(byOffset["7"]?.error).toMatch(/^invalid message: /);
    expect(byOffset["8"]?.error).toContain("names objects that do not exist");
    await assertNothingDispatched(claim);
  }, 60_000);
});
