/**
 * End to end: `npm run pipeline` (local/pipeline-cli.ts) on a slice of the reference data, against real
 * Kafka, MinIO, the Python trainers (1 epoch) and onnxruntime; then the same command again.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { PromotionHistoryEntry, PromotionPointer } from "../../functions/common/contracts.ts";
import { promotionKeys } from "../../functions/common/keys.ts";
import { getJson, getJsonIfExists, listKeys } from "../../functions/common/s3.ts";
import type { PipelineSummary } from "../../local/runtime/summary.ts";
import { lastJsonLine, runCli } from "../cli-process.ts";
import { sliceCsv, testContext, uniqueId } from "../integration/pipeline-helpers.ts";

const repo = join(import.meta.dirname, "..", "..");
const identifier = uniqueId("e2e");
let ctx: StageContext;

beforeAll(async () => {
  ctx = await testContext("e2e");
});
afterAll(async () => {
  if (ctx) await closeStageContext(ctx);
});

// One epoch may or may not beat persistence: under the `always` policy the best candidate is promoted
// either way, so the promotion is known (the policies themselves: test/unit/evaluate-policy.test.ts).
const runPipeline = (args: string[], timeoutMs: number) =>
  runCli("local/pipeline-cli.ts", args, {
    env: { TRAINER_CONCURRENCY: "2", PROMOTION_POLICY: "always" },
    timeoutMs,
  });

const lastLine = (text: string): PipelineSummary => lastJsonLine<PipelineSummary>(text);

describe("npm run pipeline (end to end on the reference-data slice)", () => {
  let first: PipelineSummary;

  it("trains the five types and their ENSEMBLE, scores them against persistence, and promotes the best", async () => {
    const run = await runPipeline(
      ["--data", sliceCsv, "--identifier", identifier, "--max-epochs", "1"],
      480_000,
    );
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    first = lastLine(run.stdout);
    expect(first.identifier).toBe(identifier);
    expect(first.config_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.skipped).toEqual({ preprocess: false, training: [] });
    expect(first.runs.map((r) => [r.model_type, r.status])).toEqual([
      ["ENSEMBLE", "SUCCESS"],
      ["GBDT", "SUCCESS"],
      ["GRU", "SUCCESS"],
      ["LINEAR", "SUCCESS"],
      ["LSTM", "SUCCESS"],
      ["PROPHET", "SUCCESS"],
    ]);
    for (const r of first.runs) expect(r.metrics?.score).toBeGreaterThan(0);
    expect(first.baseline?.n_test_windows).toBeGreaterThan(300);
    // The scoreboard is shown with the baseline beside the candidates.
    expect(run.stderr).toMatch(/baseline\s+PERSISTENCE\s+persistence\s+SCORED/);

    const best = [...first.runs].sort(
      (a, b) => (a.metrics?.score as number) - (b.metrics?.score as number),
    )[0];
    expect(first.decision).toMatch(/policy always/);
    expect(first.promoted).toEqual({
      run_id: best?.run_id,
      model_type: best?.model_type,
      score: best?.metrics?.score,
    });
    const pointer = await getJsonIfExists(
      ctx.s3,
      ctx.config.storage.buckets.promotion,
      promotionKeys.current(identifier),
      PromotionPointer,
    );
    expect(pointer?.run_id).toBe(best?.run_id);
    const history = await listKeys(
      ctx.s3,
      ctx.config.storage.buckets.promotion,
      promotionKeys.historyPrefix(identifier, first.config_hash),
    );
    expect(history).toHaveLength(1);
    const entry = await getJson(
      ctx.s3,
      ctx.config.storage.buckets.promotion,
      history[0] as string,
      PromotionHistoryEntry,
    );
    expect(entry.scoreboard.some((e) => e.kind === "baseline")).toBe(true);
  }, 500_000);

  it("re-runs with nothing changed, skipping preprocess and all training", async () => {
    expect(first, "the first run must have succeeded").toBeDefined();
    const run = await runPipeline(
      ["--data", sliceCsv, "--identifier", identifier, "--max-epochs", "1"],
      60_000,
    );
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const again = lastLine(run.stdout);
    expect(again.skipped).toEqual({
      preprocess: true,
      training: ["GRU", "LSTM", "PROPHET", "LINEAR", "GBDT"],
    });
    expect(again.config_hash).toBe(first.config_hash);
    expect(again.runs.map((r) => r.run_id)).toEqual(first.runs.map((r) => r.run_id));
    expect(again.promoted).toEqual(first.promoted);
  }, 70_000);

  it("fails on a missing file naming the input stage", async () => {
    const run = await runPipeline(["--data", join(repo, "test", "fixtures", "data", "nope.csv")], 30_000);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/stage input failed: --data: file '.*nope.csv' does not exist/);
  }, 40_000);
});
