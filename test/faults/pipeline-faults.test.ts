/**
 * Faults injected into a running pipeline (real Kafka, MinIO, trainers): each case prints one line
 * (fault, outcome, promotions, runs without a marker, records lost) and asserts that the pipeline, or
 * the same command run again without flags, ends with a promotion; that every run has a marker; and
 * that each promotion was published once.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCommonConfig } from "../../functions/common/config.ts";
import { closeStageContext, createStageContext, type StageContext } from "../../functions/common/context.ts";
import { getBytes, listKeys, putBytes } from "../../functions/common/s3.ts";
import {
  invariants,
  killService,
  readTopic,
  reportCase,
  restartServices,
  sliceCsv,
  startPipeline,
  suiteS3,
  training,
} from "./harness.ts";

const s3 = suiteS3();
const args = (identifier: string) => ["--data", sliceCsv, "--identifier", identifier, "--max-epochs", "2"];
let unique = 0;
const newId = (name: string) =>
  `fault-${name.replace(/[^A-Za-z0-9]+/g, "-")}-${Date.now().toString(36)}${unique++}`;

/** The same command again, without flags: it must end with a promotion (the pointer names a run). */
async function rerunPromotes(identifier: string) {
  const again = await startPipeline(args(identifier)).done;
  expect(again.code, again.stderr.slice(-3000)).toBe(0);
  expect(again.summary?.runs.every((r) => r.status === "SUCCESS")).toBe(true);
  return again;
}

async function assertInvariants(fault: string, identifier: string, outcome: string) {
  const inv = await invariants(s3, identifier);
  const decided = await listKeys(
    s3,
    loadCommonConfig().storage.buckets.artifacts,
    `evaluations/${identifier}/`,
  );
  const recordsLost = decided.some((k) => k.endsWith(".published.json")) ? 0 : 1;
  reportCase(fault, outcome, inv, recordsLost);
  expect(inv.runsWithoutMarker).toEqual([]);
  expect(inv.promotions).toBeGreaterThanOrEqual(1);
  expect(Object.keys(inv.modelSelected)).toHaveLength(inv.promotions);
  for (const count of Object.values(inv.modelSelected)) expect(count).toBe(1);
  expect(recordsLost).toBe(0);
}

/** Runs the pipeline, injects `fault` once training is under way, then re-runs when it did not promote. */
async function faultDuringTraining(
  name: string,
  fault: (run: ReturnType<typeof startPipeline>) => Promise<void>,
) {
  const identifier = newId(name);
  const run = startPipeline(args(identifier));
  await run.when(training);
  await fault(run);
  const first = await run.done;
  let outcome = `exit ${first.code}, ${first.summary?.promoted ? "promoted" : "not promoted"}`;
  const unmarked = (await invariants(s3, identifier)).runsWithoutMarker;
  expect(unmarked, "every run is marked as soon as the faulted pipeline ends").toEqual([]);
  if (first.code !== 0 || !first.summary?.promoted) {
    const again = await rerunPromotes(identifier);
    outcome += `; re-run exit ${again.code}, ${again.summary?.promoted ? "promoted" : "kept the champion"}`;
  }
  await assertInvariants(name, identifier, outcome);
}

describe("fault suite: the pipeline", () => {
  it("Kafka broker killed during training, restarted", async () => {
    await faultDuringTraining("kafka killed during training", async () => {
      await killService("kafka");
      await delay(3000); // the outage itself
      await restartServices();
    });
  });

  it("MinIO killed during training, restarted", async () => {
    await faultDuringTraining("minio killed during training", async () => {
      await killService("minio");
      await delay(3000); // the outage itself
      await restartServices();
    });
  });

  it("the CLI interrupted (SIGINT) during training, then run again", async () => {
    await faultDuringTraining("pipeline CLI SIGINT", async (run) => {
      run.child.kill("SIGINT");
      expect((await run.done).code).not.toBe(0);
    });
  });

  it("a trainer SIGKILLed", async () => {
    await faultDuringTraining("trainer SIGKILL", async (run) => {
      const started = await run.when(
        (e) => e.step === "train" && e.state === "running" && e.model_type === "GRU",
      );
      const runId = /run (\S+)/.exec(started.detail ?? "")?.[1] as string;
      await run.when((e) => e.step === "train" && e.state === "progress" && e.model_type === "GRU");
      const pids = execFileSync("pgrep", ["-f", `${runId}.job.json`], { encoding: "utf8" })
        .trim()
        .split("\n");
      for (const pid of pids) process.kill(Number(pid), "SIGKILL");
    });
  });

  it("the same data uploaded twice concurrently", async () => {
    const identifier = newId("concurrent");
    const [a, b] = await Promise.all([
      startPipeline(args(identifier)).done,
      startPipeline(args(identifier)).done,
    ]);
    expect(a.code, a.stderr.slice(-2000)).toBe(0);
    expect(b.code, b.stderr.slice(-2000)).toBe(0);
    expect(a.summary?.promoted).toEqual(b.summary?.promoted);
    await assertInvariants(
      "same data uploaded twice",
      identifier,
      `exit ${a.code} and ${b.code}, one decision`,
    );
  });
});

describe("fault suite: bad messages beside a running pipeline", () => {
  let ctx: StageContext;
  beforeAll(async () => {
    ctx = await createStageContext("faults");
  });
  afterAll(async () => {
    await closeStageContext(ctx);
  });

  /** A copy of a processed data set whose train split has a NaN `down` cell, under a new config hash. */
  async function nanDataSet(identifier: string, sourceHash: string): Promise<Record<string, unknown>> {
    const { processed } = ctx.config.storage.buckets;
    const hash = "f".repeat(8) + sourceHash.slice(8);
    const dir = mkdtempSync(join(tmpdir(), "flts-nan-"));
    writeFileSync(
      join(dir, "in.parquet"),
      await getBytes(s3, processed, `${identifier}/${sourceHash}/train.parquet`),
    );
    const db = await (await DuckDBInstance.create(":memory:")).connect();
    await db.run(
      `COPY (SELECT * EXCLUDE (rn) REPLACE (CASE WHEN rn = 50 THEN 'NaN'::DOUBLE ELSE down END AS down) FROM (SELECT *, row_number() OVER () AS rn FROM read_parquet('${dir}/in.parquet'))) TO '${dir}/out.parquet' (FORMAT parquet)`,
    );
    db.closeSync();
    for (const name of ["test.parquet", ".meta.json"])
      await putBytes(
        s3,
        processed,
        `${identifier}/${hash}/${name}`,
        await getBytes(s3, processed, `${identifier}/${sourceHash}/${name}`),
      );
    await putBytes(
      s3,
      processed,
      `${identifier}/${hash}/train.parquet`,
      readFileSync(join(dir, "out.parquet")),
    );
    return {
      bucket: processed,
      object_key: `${identifier}/${hash}/train.parquet`,
      test_object_key: `${identifier}/${hash}/test.parquet`,
      config_hash: hash,
      identifier,
      v: 1,
      size: 1,
    };
  }

  it("poison messages, a claim check for a missing object and NaN training data while a pipeline runs", async () => {
    const identifier = newId("poison");
    const first = await startPipeline(args(identifier)).done;
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    const hash = first.summary?.config_hash as string;
    const nanClaim = await nanDataSet(identifier, hash);
    const missing = {
      ...nanClaim,
      config_hash: "e".repeat(64),
      object_key: `${identifier}/nothing/train.parquet`,
      test_object_key: `${identifier}/nothing/test.parquet`,
    };
    const send = (topic: string, value: string) => ctx.producer.send({ topic, messages: [{ value }] });

    // Another window: a new config_hash, so this run trains while the bad messages arrive.
    const run = startPipeline(args(identifier), { WINDOW: "12" });
    await run.when((e) => e.step === "services" && e.state === "done");
    await send("training-data", "{not json");
    await send("training-data", JSON.stringify({ identifier, v: 1 }));
    await send("model-training", JSON.stringify({ status: "SUCCESS", run_id: "../../x" }));
    await send("training-data", JSON.stringify(missing));
    await send("training-data", JSON.stringify(nanClaim));
    const result = await run.done;
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    expect(result.summary?.foreign_failures).toBeGreaterThanOrEqual(3);

    const dlq = [...(await readTopic("DLQ-training-data")), ...(await readTopic("DLQ-model-training"))];
    const reasons = (needle: string) =>
      dlq.filter((d) => String(d.value ?? "").includes(needle)).map((d) => String(d.error));
    expect(reasons("{not json")).toHaveLength(1);
    expect(reasons("../../x")).toHaveLength(1);
    expect(reasons("nothing/train.parquet").join(" ")).toMatch(/do(es)? not exist/i);
    // The NaN data set's runs all failed; nothing trained on it was promoted.
    const nanRuns = (await listKeys(s3, ctx.config.storage.buckets.artifacts, `runs/${identifier}-`)).filter(
      (k) => k.includes(`-${String(nanClaim.config_hash).slice(0, 8)}-`) && k.endsWith("/_FAILED"),
    );
    await assertInvariants(
      "poison + missing object + NaN data",
      identifier,
      `exit ${result.code}, ${nanRuns.length} NaN runs FAILED`,
    );
    const promotedRuns = Object.keys((await invariants(s3, identifier)).modelSelected);
    expect(promotedRuns.some((r) => r.includes(`-${String(nanClaim.config_hash).slice(0, 8)}-`))).toBe(false);
  });
});
