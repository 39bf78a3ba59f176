/**
 * Hot swap under load: requests run in a loop while a new model is promoted (pointer written and
 * `model-selected` published on the real Kafka). No request may fail, and the answers must move to
 * the new run. A second case swaps through the pointer poll alone.
 */
import type { Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCommonConfig } from "../../functions/common/config.ts";
import { ModelSelectedMessage, type PromotionPointer, TOPICS } from "../../functions/common/contracts.ts";
import { createKafka, publish } from "../../functions/common/kafka.ts";
import { createS3Client } from "../../functions/common/s3.ts";
import type { PredictResponse } from "../../functions/inference/predict.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import { writePointer } from "../../local/seed-model.ts";
import { pollUntil } from "../poll.ts";
import {
  expectedOf,
  post,
  publishFixture,
  startService,
  unique,
  waitReady,
  windowData,
} from "./inference-harness.ts";

const LOOPS = 8;

interface Answer {
  status: number;
  run_id?: string;
  window: number;
  down?: number;
}

/** Keeps LOOPS requests in flight until `stop()`; every answer is recorded in arrival order. */
function loadLoop(service: InferenceService) {
  const answers: Answer[] = [];
  let running = true;
  const windows = Array.from({ length: 8 }, (_, i) => windowData("gru", i));
  const loops = Array.from({ length: LOOPS }, async (_, loop) => {
    for (let n = loop; running; n += LOOPS) {
      const window = n % windows.length;
      const res = await post(service, "/predict", { data: windows[window] });
      if (res.status !== 200) {
        answers.push({ status: res.status, window });
        await res.body?.cancel();
        continue;
      }
      const body = (await res.json()) as PredictResponse;
      answers.push({ status: 200, run_id: body.run_id, window, down: body.predictions[0]?.down as number });
    }
  });
  return {
    answers,
    count: (runId: string) => answers.filter((a) => a.run_id === runId).length,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

function promotionMessage(pointer: PromotionPointer) {
  return {
    model_uri: pointer.model_uri,
    run_id: pointer.run_id,
    model_type: pointer.model_type,
    config_hash: pointer.config_hash,
    identifier: pointer.identifier,
    score: 0.1,
    rmse: 1,
    mae: 1,
    mse: 1,
    scoreboard: [
      {
        run_id: pointer.run_id,
        model_type: pointer.model_type,
        kind: "candidate" as const,
        status: "SCORED" as const,
        score: 0.1,
        rmse: 1,
        mae: 1,
        mse: 1,
      },
    ],
  };
}

async function metricsText(service: InferenceService): Promise<string> {
  return (await fetch(`${service.url}/metrics`)).text();
}

describe("hot swap under load", () => {
  let producer: Producer;
  const services: InferenceService[] = [];

  beforeAll(async () => {
    const kafka = await createKafka(loadCommonConfig().kafka, "inference-swap-test");
    producer = kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await producer?.disconnect();
  });

  /** A ready service for `identifier` (no `global` fallback), stopped after the suite. */
  async function serve(identifier: string, env: Record<string, string>): Promise<InferenceService> {
    const service = await startService({ MODEL_IDENTIFIER: identifier, GLOBAL_FALLBACK: "0", ...env });
    services.push(service);
    await waitReady(service);
    return service;
  }

  it("swaps on model-selected: zero non-2xx, answers move to the new run and match its model", async () => {
    const identifier = unique("inf-swap");
    const oldRun = unique("inf-swap-gru");
    const newRun = unique("inf-swap-lstm");
    await publishFixture("gru", oldRun, identifier);
    const next = await publishFixture("lstm", newRun, identifier, false);
    // No pointer poll: only the Kafka message can trigger this swap.
    const service = await serve(identifier, { POINTER_POLL_MS: "0", CACHE_SIZE: "0" });

    const load = loadLoop(service);
    try {
      await pollUntil("answers from the first model", () => load.count(oldRun) >= 50);
      const { storage } = loadCommonConfig();
      await writePointer(createS3Client(storage), storage.buckets.promotion, next);
      await publish(producer, TOPICS.modelSelected, ModelSelectedMessage, promotionMessage(next), identifier);
      await pollUntil("answers from the promoted model", () => load.count(newRun) >= 50, {
        timeoutMs: 60_000,
      });
    } finally {
      await load.stop();
    }

    expect(load.answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(load.count(oldRun)).toBeGreaterThanOrEqual(50);
    expect(load.answers.slice(-LOOPS).every((a) => a.run_id === newRun)).toBe(true);
    const lstm = expectedOf("lstm");
    for (const a of load.answers.filter((x) => x.run_id === newRun)) {
      const expected = (lstm.y[a.window] as number[][])[0]?.[0] as number;
      expect(Math.abs((a.down as number) - expected)).toBeLessThanOrEqual(1e-5 * Math.abs(expected));
    }

    const text = await metricsText(service);
    expect(text).toMatch(/model_swaps_total\{trigger="message"\} 1/);
    expect(text).toContain(`run_id="${newRun}",model_type="LSTM"} 1`);
    expect(text).not.toContain(`run_id="${oldRun}"`);
    const current = (await (await fetch(`${service.url}/models/current`)).json()) as {
      run_id: string;
      scoreboard: { run_id: string }[];
    };
    expect(current.run_id).toBe(newRun);
    expect(current.scoreboard.map((s) => s.run_id)).toEqual([newRun]);
  });

  it("swaps by polling the pointer when no message comes", async () => {
    const identifier = unique("inf-poll");
    const oldRun = unique("inf-poll-prophet");
    const newRun = unique("inf-poll-gru");
    await publishFixture("prophet", oldRun, identifier);
    const service = await serve(identifier, { KAFKA_LISTEN: "0", POINTER_POLL_MS: "200" });

    const load = loadLoop(service);
    try {
      await pollUntil("answers from the first model", () => load.count(oldRun) >= 20);
      await publishFixture("gru", newRun, identifier);
      await pollUntil("answers from the polled model", () => load.count(newRun) >= 20);
    } finally {
      await load.stop();
    }
    expect(load.answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(load.answers.slice(-LOOPS).every((a) => a.run_id === newRun)).toBe(true);
    expect(await metricsText(service)).toMatch(/model_swaps_total\{trigger="poll"\} 1/);
  });
});
