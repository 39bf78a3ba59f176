/**
 * `predict_inference_start` tallies: one line per model per interval with the runs started in it,
 * none for a quiet interval, and the last partial interval written on stop. The logger is a
 * recording stand-in for the Powertools Logger (only `info` is called).
 */
import { describe, expect, it } from "vitest";
import type { Logger } from "../../functions/common/log.ts";
import { ForecastTally } from "../../functions/inference/forecast-tally.ts";
import type { ModelIdentity } from "../../functions/inference/model.ts";

function recordingLogger() {
  const lines: { message: string; fields: Record<string, unknown> }[] = [];
  const logger = {
    info: (message: string, fields: Record<string, unknown>) => lines.push({ message, fields }),
  } as unknown as Logger;
  return { logger, lines };
}

const model = (run_id: string): ModelIdentity => ({
  scope: "PobleSec",
  run_id,
  model_type: "GRU",
  model_uri: `s3://model-artifacts/runs/${run_id}/model.onnx`,
});

describe("ForecastTally", () => {
  it("tallies runs per model and writes one line for each model on flush", () => {
    const { logger, lines } = recordingLogger();
    const log = new ForecastTally(logger);
    const a = model("run-a");
    const b = model("run-b");
    log.observe(a, 32, 30);
    log.observe(a, 5, 5);
    log.observe(b, 1, 1);
    log.flush();
    expect(lines.map((l) => l.message)).toEqual(["predict_inference_start", "predict_inference_start"]);
    expect(lines[0]?.fields).toMatchObject({
      scope: "PobleSec",
      run_id: "run-a",
      model_type: "GRU",
      runs: 2,
      windows: 37,
      requests: 35,
      max_windows: 32,
    });
    expect(lines[1]?.fields).toMatchObject({ run_id: "run-b", runs: 1, windows: 1, requests: 1 });
    log.flush();
    expect(lines).toHaveLength(2);
  });

  it("writes what is left when stopped", () => {
    const { logger, lines } = recordingLogger();
    const log = new ForecastTally(logger, 60_000);
    log.start();
    log.observe(model("run-c"), 8, 8);
    log.stop();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields).toMatchObject({ run_id: "run-c", runs: 1, windows: 8 });
  });
});
