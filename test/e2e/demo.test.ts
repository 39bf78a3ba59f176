/**
 * End to end: `npm run demo` (local/demo.ts, the README's first command) on the reference-data slice
 * with a 1-epoch budget, as CI runs it (CI=true, no stdin): real Kafka, MinIO, Python trainers,
 * onnxruntime and the inference service it leaves running.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { PromotionPointer } from "../../functions/common/contracts.ts";
import { getBytes, getJson, listKeys } from "../../functions/common/s3.ts";
import { loadRunStates } from "../../functions/evaluate/state.ts";
import { stateDir } from "../../local/paths.ts";
import { inferencePid, stopInference } from "../../local/services/inference.ts";
import { launchBrowser, openPage } from "../browser/chromium.ts";
import { lastJsonLine, runCli } from "../cli-process.ts";
import { sliceCsv, sliceTestCsv, testContext, uniqueId } from "../integration/pipeline-helpers.ts";
import { pollUntil } from "../poll.ts";

const identifier = uniqueId("demo");
const artifacts = join(stateDir, "artifacts");
let ctx: StageContext;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** The largest value of a column over both CSVs of the slice. */
function maxOf(column: string): number {
  let max = 0;
  for (const file of [sliceCsv, sliceTestCsv]) {
    const [header, ...rows] = readFileSync(file, "utf8").trim().split("\n");
    const index = (header ?? "").split(",").indexOf(column);
    for (const row of rows) max = Math.max(max, Number(row.split(",")[index]));
  }
  return max;
}

/**
 * The console of the service the demo left running, in headless Chromium: it names the promoted run and
 * shows the scoreboard and the chart; the screenshot is kept as a test artifact.
 */
async function screenshotConsole(url: string, identifier: string, runId: string): Promise<void> {
  const browser = await launchBrowser();
  try {
    const { page, errors } = await openPage(browser, `${url}/console?identifier=${identifier}`);
    await page.waitForSelector("body[data-loaded=true]");
    expect(await page.$eval("#run-id", (e) => e.textContent)).toBe(runId);
    expect(await page.$$eval("#scoreboard tbody tr", (rows) => rows.length)).toBeGreaterThanOrEqual(4);
    expect(await page.$$eval("#chart canvas", (canvases) => canvases.length)).toBeGreaterThan(0);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "console-demo.png"), fullPage: true });
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
  }
}

beforeAll(async () => {
  ctx = await testContext("e2e-demo");
});
afterAll(async () => {
  await stopInference();
  if (ctx) await closeStageContext(ctx);
});

describe("npm run demo (end to end on the reference-data slice)", () => {
  it("installs, trains five model types and their ensemble, promotes one, serves it and answers a 30-step forecast with quantiles", async () => {
    const port = await freePort();
    const demo = await runCli(
      "local/demo.ts",
      [
        "--data",
        sliceCsv,
        "--identifier",
        identifier,
        "--max-epochs",
        "1",
        "--port",
        String(port),
        // One epoch on the slice rarely clears the per-target, per-step quality gate at every step: the
        // `always` policy makes the promotion known (the gate itself: test/unit/evaluate-policy.test.ts).
      ],
      { env: { PROMOTION_POLICY: "always" } },
    );
    expect(demo.code, demo.stderr.slice(-3000)).toBe(0);

    // People-facing terminal: the step list, no JSON log record on stderr.
    expect(demo.stderr.split("\n").filter((line) => line.startsWith("{"))).toEqual([]);
    for (const stepTitle of [
      "Install Kafka",
      "Build MinIO",
      "Trainer environment",
      "Preprocess",
      "Ensemble",
      "Evaluate",
      "Forecast",
    ])
      expect(demo.stderr).toContain(stepTitle);
    expect(demo.stderr).toMatch(/Scoreboard of .* test windows/);
    expect(demo.stderr).toMatch(/PERSISTENCE\s+baseline\s+SCORED/);

    const result = lastJsonLine<{
      service_url: string;
      promoted: { run_id: string; model_type: string; score: number } | null;
      forecast: {
        status: string;
        run_id: string;
        predictions: {
          ts: string;
          down: number;
          up: number;
          quantiles: Record<"down" | "up", Record<string, number>>;
        }[];
      };
    }>(demo.stdout);
    expect(result.service_url).toBe(`http://127.0.0.1:${port}`);
    expect(result.promoted).not.toBeNull();
    expect(result.forecast.status).toBe("SUCCESS");
    expect(result.forecast.run_id).toBe(result.promoted?.run_id);
    // An hour ahead (HORIZON 30 by default), each step with its 0.1/0.5/0.9 quantiles in order.
    expect(result.forecast.predictions).toHaveLength(30);
    for (const p of result.forecast.predictions) {
      for (const target of ["down", "up"] as const) {
        const q = p.quantiles[target];
        expect(Object.keys(q)).toEqual(["0.1", "0.5", "0.9"]);
        expect(q["0.1"]).toBeLessThanOrEqual(q["0.5"] as number);
        expect(q["0.5"]).toBeLessThanOrEqual(q["0.9"] as number);
      }
      expect(p.down).toBeGreaterThanOrEqual(0);
      expect(p.down).toBeLessThan(10 * maxOf("down"));
      expect(p.up).toBeGreaterThanOrEqual(0);
      expect(p.up).toBeLessThan(10 * maxOf("up"));
    }

    // The pointer names the promoted run; the five dispatched runs of its config and evaluation's ENSEMBLE all succeeded.
    const pointer = await getJson(
      ctx.s3,
      ctx.config.storage.buckets.promotion,
      `${identifier}/current.json`,
      PromotionPointer,
    );
    expect(pointer.run_id).toBe(result.promoted?.run_id);
    const runs = await loadRunStates(
      ctx.s3,
      ctx.config.storage.buckets.artifacts,
      identifier,
      pointer.config_hash,
    );
    expect(runs.map((r) => [r.model_type, r.status]).sort()).toEqual([
      ["ENSEMBLE", "SUCCESS"],
      ["GBDT", "SUCCESS"],
      ["GRU", "SUCCESS"],
      ["LINEAR", "SUCCESS"],
      ["LSTM", "SUCCESS"],
      ["PROPHET", "SUCCESS"],
    ]);

    // The service is left running: it answers the printed URL until stopped, then flushes its log to S3.
    expect(inferencePid()).not.toBeNull();
    const current = (await (
      await fetch(`${result.service_url}/models/current?identifier=${identifier}`)
    ).json()) as {
      run_id: string;
    };
    expect(current.run_id).toBe(result.promoted?.run_id);
    await screenshotConsole(result.service_url, identifier, result.promoted?.run_id as string);
    expect(await stopInference()).toBe(true);
    const logBucket = ctx.config.storage.buckets.inferenceLogs;
    const keys = await pollUntil("an inference-log object", async () => {
      const found = await listKeys(ctx.s3, logBucket, `${identifier}/`);
      return found.length ? found : null;
    });
    const logged = Buffer.from(await getBytes(ctx.s3, logBucket, keys[0] as string)).toString("utf8");
    expect(logged).toContain(result.promoted?.run_id as string);
  });
});
