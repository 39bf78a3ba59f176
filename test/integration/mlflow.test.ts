/**
 * MLflow as an optional sink, against a real tracking server from PyPI (`local:up -- --mlflow`: SQLite
 * under .flts/mlflow, artifacts proxied into MinIO): a pipeline run's trainings read back through
 * MLflow's REST API with their params, test metrics, per-epoch losses, artifacts and evaluate's
 * scoreboard numbers, and the promoted run tagged. The trainers and evaluate get MLFLOW_TRACKING_URI
 * from localServiceEnv (the test does not set it). The server is stopped afterwards if this test
 * started it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { closeStageContext, type StageContext } from "../../functions/common/context.ts";
import { getBytes, getJson, listKeys } from "../../functions/common/s3.ts";
import { trackingBase } from "../../functions/evaluate/tracking.ts";
import type { PipelineSummary } from "../../local/runtime/summary.ts";
import { mlflowUrl } from "../../local/services/env.ts";
import { MLFLOW_BUCKET, stopMlflow } from "../../local/services/mlflow.ts";
import { runningPid } from "../../local/services/processes.ts";
import { lastJsonLine, runCli } from "../cli-process.ts";
import { sliceCsv, testContext, uniqueId } from "./pipeline-helpers.ts";

const KeyValue = z.object({ key: z.string(), value: z.string() });
const MlflowRun = z.object({
  info: z.object({ run_id: z.string(), run_name: z.string(), status: z.string(), artifact_uri: z.string() }),
  data: z.object({
    metrics: z.array(z.object({ key: z.string(), value: z.number(), step: z.coerce.number() })).default([]),
    params: z.array(KeyValue).default([]),
    tags: z.array(KeyValue).default([]),
  }),
});
type MlflowRun = z.infer<typeof MlflowRun>;

const base = mlflowUrl();
const identifier = uniqueId("mlflow");
const experiment = `flts-test-${identifier}`;
let startedHere = false;
let ctx: StageContext;

async function rest(endpoint: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${base}/api/2.0/${endpoint}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? undefined : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.status, `${endpoint}: ${text}`).toBe(200);
  return JSON.parse(text);
}

const tagsOf = (run: MlflowRun) => Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
const paramsOf = (run: MlflowRun) => Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
const metricsOf = (run: MlflowRun) => Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));

beforeAll(async () => {
  startedHere = runningPid("mlflow") === null;
  const up = await runCli("local/cli.ts", ["up", "--mlflow"], { timeoutMs: 900_000 });
  expect(up.code, up.stderr.slice(-3000)).toBe(0);
  expect(up.stdout).toMatch(
    /^mlflow\s+running\s+\d+\s+http:\/\/127\.0\.0\.1:\d+\s+mlflow 3\.\S+ .*healthy$/m,
  );
  ctx = await testContext("mlflow-test");
}, 900_000);

afterAll(async () => {
  if (ctx) await closeStageContext(ctx);
  if (startedHere) {
    expect(await stopMlflow()).toBe(true);
    expect(runningPid("mlflow")).toBeNull();
  }
});

describe("MLflow tracking (npm run local:up -- --mlflow)", () => {
  it("the server's URL reaches the stages through the local environment", () => {
    expect(trackingBase({ MLFLOW_TRACKING_URI: base })).toBe(base);
    expect(() => trackingBase({ MLFLOW_TRACKING_URI: "127.0.0.1:5000" })).toThrow(
      /MLFLOW_TRACKING_URI must be/,
    );
  });

  it("a pipeline run's four trainings are visible through the REST API with their metrics", async () => {
    const run = await runCli(
      "local/pipeline-cli.ts",
      ["--data", sliceCsv, "--identifier", identifier, "--max-epochs", "1"],
      {
        // the recurrent types (per-epoch losses), Prophet and the ridge (none): GBDT and the ENSEMBLE add
        // minutes, not tracking paths
        env: {
          TRAINER_CONCURRENCY: "2",
          MLFLOW_EXPERIMENT_NAME: experiment,
          EXPECTED_MODEL_TYPES: "GRU,LSTM,PROPHET,LINEAR",
        },
        timeoutMs: 540_000,
      },
    );
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const summary = lastJsonLine<PipelineSummary>(run.stdout);
    expect(summary.runs.map((r) => [r.model_type, r.status])).toEqual([
      ["GRU", "SUCCESS"],
      ["LINEAR", "SUCCESS"],
      ["LSTM", "SUCCESS"],
      ["PROPHET", "SUCCESS"],
    ]);

    const found = z
      .object({ experiment: z.object({ experiment_id: z.string() }) })
      .parse(await rest(`mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(experiment)}`));
    const experimentId = found.experiment.experiment_id;
    const searched = z.object({ runs: z.array(MlflowRun).default([]) }).parse(
      await rest("mlflow/runs/search", {
        experiment_ids: [experimentId],
        filter: `tags.\`flts.identifier\` = '${identifier}'`,
        max_results: 100,
      }),
    );
    expect(searched.runs.map((r) => tagsOf(r)["flts.run_id"]).sort()).toEqual(
      summary.runs.map((r) => r.run_id).sort(),
    );

    const artifacts = ctx.config.storage.buckets.artifacts;
    for (const flts of summary.runs) {
      const mlflowRun = searched.runs.find((r) => tagsOf(r)["flts.run_id"] === flts.run_id) as MlflowRun;
      const label = `${flts.model_type} ${flts.run_id}`;
      expect(mlflowRun.info.status, label).toBe("FINISHED");
      expect(mlflowRun.info.run_name, label).toBe(flts.run_id);
      expect(paramsOf(mlflowRun), label).toMatchObject({ model_type: flts.model_type, max_epochs: "1" });

      // The trainer's test metrics are the ones in S3 (metrics.json stays the record).
      const stored = await getJson(ctx.s3, artifacts, `runs/${flts.run_id}/metrics.json`, z.any());
      const metrics = metricsOf(mlflowRun);
      for (const target of ["down", "up"])
        for (const k of ["mae", "rmse", "mse"]) {
          expect(metrics[`test.${target}.${k}`], `${label} test.${target}.${k}`).toBeCloseTo(
            stored.test[target][k],
            6,
          );
          expect(metrics[`persistence.${target}.${k}`]).toBeCloseTo(stored.persistence[target][k], 6);
        }
      // evaluate's scoreboard numbers, on the same run.
      const entry = summary.scoreboard.find((e) => e.run_id === flts.run_id);
      expect(metrics["eval.score"], label).toBeCloseTo(entry?.score as number, 9);
      expect(metrics["eval.baseline_score"]).toBeCloseTo(summary.baseline?.score as number, 9);
      expect(metrics["eval.down.mae_ratio"]).toBeGreaterThan(0);

      // Per-epoch losses: one point per epoch the card records (Prophet and the ridge have none).
      const card = await getJson(ctx.s3, artifacts, `runs/${flts.run_id}/model.json`, z.any());
      for (const key of ["train_loss", "val_loss"]) {
        const history = z
          .object({ metrics: z.array(z.object({ step: z.coerce.number(), value: z.number() })).default([]) })
          .parse(await rest(`mlflow/metrics/get-history?run_id=${mlflowRun.info.run_id}&metric_key=${key}`));
        const steps = Array.from({ length: card.epochs }, (_, i) => i + 1);
        expect(
          history.metrics.map((m) => m.step),
          `${label} ${key}`,
        ).toEqual(steps);
      }
      expect(card.epochs).toBe(["GRU", "LSTM"].includes(flts.model_type) ? 1 : 0);

      // The ONNX model and the card, through the server's artifact proxy, stored in MinIO.
      const path = mlflowRun.info.artifact_uri.replace(/^mlflow-artifacts:\/+/, "");
      const onnx = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${path}/model.onnx`);
      expect(onnx.status).toBe(200);
      const s3Model = await getBytes(ctx.s3, artifacts, `runs/${flts.run_id}/model.onnx`);
      expect(Buffer.from(await onnx.arrayBuffer()).equals(Buffer.from(s3Model)), label).toBe(true);
      const inMinio = await listKeys(ctx.s3, MLFLOW_BUCKET, `${path}/`);
      expect(inMinio.map((k) => k.slice(path.length + 1)).sort()).toEqual(["model.json", "model.onnx"]);

      // The promotion: true on the promoted run only.
      expect(tagsOf(mlflowRun)["flts.promoted"], label).toBe(
        String(summary.promoted?.run_id === flts.run_id),
      );
    }
  }, 600_000);
});
