/**
 * Inference logs in MinIO: JSONL under `<identifier>/<YYYYMMDD>/<HHMMSS>-<id>.jsonl`, written when
 * a buffer reaches its record limit, and on shutdown only after in-flight requests have finished.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { afterAll, describe, expect, it, vi } from "vitest";
import { getBytes, listKeys } from "../../functions/common/s3.ts";
import { type ForecastRecord, InferenceLog } from "../../functions/inference/inference-log.ts";
import type { BatchResponse, PredictResponse } from "../../functions/inference/predict.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import { pollUntil } from "../poll.ts";
import { common, post, s3, serveFixture, unique, windowData } from "./inference-harness.ts";

interface LogLine {
  at: string;
  request_id: string;
  identifier: string;
  run_id: string;
  model_type: string;
  route: string;
  input: { rows: number; last_ts: string; last: Record<string, number> };
  predictions: { ts: string; down: number; up: number }[];
  latency_ms: number;
  cached: boolean;
}

const services: InferenceService[] = [];
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
});

async function readLines(identifier: string): Promise<{ keys: string[]; lines: LogLine[] }> {
  const bucket = common().storage.buckets.inferenceLogs;
  const client = s3();
  const keys = await listKeys(client, bucket, `${identifier}/`);
  const lines: LogLine[] = [];
  for (const key of keys) {
    const text = Buffer.from(await getBytes(client, bucket, key)).toString("utf8");
    for (const line of text.split("\n").filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
  }
  return { keys, lines };
}

async function start(identifier: string, runId: string, env: Record<string, string>) {
  // Only the record limit or shutdown may trigger a write in these tests.
  const service = await serveFixture(identifier, runId, { INFERENCE_LOG_FLUSH_MS: "600000", ...env });
  services.push(service);
  return service;
}

describe("inference logs", () => {
  it("writes a JSONL object per full buffer, keyed by identifier, day and time, with each answer", async () => {
    const identifier = unique("inf-logs");
    const runId = unique("inf-logs-run");
    const service = await start(identifier, runId, { INFERENCE_LOG_MAX_RECORDS: "5" });
    const answered = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${service.url}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": `req-${i}` },
        body: JSON.stringify({ data: windowData("gru", i % 8) }),
      });
      expect(res.status).toBe(200);
      answered.set(`req-${i}`, ((await res.json()) as PredictResponse).predictions[0]?.down as number);
    }
    const { keys, lines } = await pollUntil("two log objects", async () => {
      const found = await readLines(identifier);
      return found.lines.length === 10 ? found : undefined;
    });
    expect(keys).toHaveLength(2);
    for (const key of keys)
      expect(key).toMatch(new RegExp(`^${identifier}/\\d{8}/\\d{6}-[0-9a-f]+-\\d+\\.jsonl$`));
    const day = new Date().toISOString().slice(0, 10).replaceAll("-", "");
    expect(keys.some((k) => k.includes(`/${day}/`))).toBe(true);

    const first = lines.find((l) => l.request_id === "req-0") as LogLine;
    expect(first).toMatchObject({
      identifier,
      run_id: runId,
      model_type: "GRU",
      route: "/predict",
      cached: false,
    });
    expect(first.input).toMatchObject({ rows: 10, last_ts: "2018-02-11T13:18:00Z" });
    expect(first.input.last.down).toBe((windowData("gru", 0).down as number[])[9]);
    expect(first.predictions[0]?.ts).toBe("2018-02-11T13:20:00Z");
    expect(first.latency_ms).toBeGreaterThan(0);
    for (const line of lines) expect(line.predictions[0]?.down).toBe(answered.get(line.request_id));

    // The batch form logs one record per window; these two are written by the flush on shutdown.
    const batch = await fetch(`${service.url}/predict/batch`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "batch-1" },
      body: JSON.stringify({ windows: [windowData("gru", 6), windowData("gru", 7)] }),
    });
    const forecasts = ((await batch.json()) as BatchResponse).forecasts;
    await service.stop();
    const after = await readLines(identifier);
    expect(after.lines).toHaveLength(12);
    for (const [i, forecast] of forecasts.entries()) {
      const line = after.lines.find((l) => l.request_id === `batch-1/${i}`) as LogLine;
      expect(line.route).toBe("/predict/batch");
      expect(line.predictions).toEqual(forecast.predictions);
    }
  });

  it("on shutdown, lets queued requests finish and then flushes their records", async () => {
    const identifier = unique("inf-logs-stop");
    const runId = unique("inf-logs-stop-run");
    // Requests wait 300 ms in the batch window, so shutdown starts while they are in flight.
    const service = await start(identifier, runId, { BATCH_WINDOW_MS: "300", QUEUE_TTL_MS: "5000" });
    const pending = Array.from({ length: 4 }, (_, i) =>
      post(service, "/predict", { data: windowData("gru", i) }),
    );
    await pollUntil("4 queued requests", async () => {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      return /^inference_queue_len 4$/m.test(text);
    });
    await service.stop();
    const statuses = await Promise.all(pending.map(async (p) => (await p).status));
    expect(statuses).toEqual([200, 200, 200, 200]);
    const { lines } = await readLines(identifier);
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.run_id === runId)).toBe(true);
  });
});

describe("a record that cannot be written", () => {
  it("is left out and counted, and the rest of its object is written", async () => {
    const identifier = unique("inf-logs-bad");
    const { storage } = common();
    const logger = new Logger({ serviceName: "flts-inference-logs-test", logLevel: "WARN" });
    const logged = vi.spyOn(logger, "error");
    let dropped = 0;
    const log = new InferenceLog(
      { storage, bucket: storage.buckets.inferenceLogs, flushMs: 600_000, maxRecords: 100, maxBuffered: 100 },
      (count) => {
        dropped += count;
      },
      logger,
    );
    log.start();
    const record = (id: string, forecastAt: number): ForecastRecord => ({
      at: Date.now(),
      request_id: id,
      identifier,
      run_id: "run-1",
      model_type: "GRU",
      route: "/predict",
      features: ["down", "up"],
      targets: ["down"],
      x: new Float32Array([1, 2, 3, 4]),
      window: 2,
      last_ts: 1_518_355_080,
      t: new Float64Array([forecastAt]),
      y: new Float32Array([5]),
      horizon: 1,
      latency_ms: 1,
      cached: false,
    });
    log.add(record("ok-1", 1_518_355_200));
    // Beyond year 9999: a forecast time no ISO timestamp can hold.
    log.add(record("bad", 1e300));
    log.add(record("ok-2", 1_518_355_320));
    await log.stop();
    expect(dropped).toBe(1);
    expect(log.written).toBe(2);
    expect(logged).toHaveBeenCalledWith(
      "inference_log_records_invalid",
      expect.objectContaining({ records: 1 }),
    );
    const { lines } = await readLines(identifier);
    expect(lines.map((l) => l.request_id)).toEqual(["ok-1", "ok-2"]);
    expect(lines[1]?.predictions[0]?.ts).toBe("2018-02-11T13:22:00Z");
  });
});
