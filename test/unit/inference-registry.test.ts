/**
 * The model registry with real onnxruntime sessions of the fixture models and pointers held in
 * memory: global fallback, unknown identifiers, the default identifier moving scope, swaps by
 * message, and the LRU bound on sessions.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { afterEach, describe, expect, it } from "vitest";
import {
  ModelCard,
  type ModelSelectedMessage,
  type PromotionPointer,
} from "../../functions/common/contracts.ts";
import { QueueBudget } from "../../functions/inference/batcher.ts";
import { InferenceMetrics } from "../../functions/inference/metrics.ts";
import type {
  FetchedModel,
  ModelRef,
  ModelStore,
  ResolvedPointer,
} from "../../functions/inference/model-source.ts";
import { Problem } from "../../functions/inference/problem.ts";
import { ModelRegistry, type RegistrySettings } from "../../functions/inference/registry.ts";
import { repoRoot } from "../../local/paths.ts";
import { pollUntil } from "../poll.ts";

type Fixture = "gru" | "lstm" | "prophet";
const HASH = "a".repeat(64);

function fixture(type: Fixture): { card: ModelCard; onnx: Uint8Array } {
  const dir = join(repoRoot, "test", "fixtures", "models", type);
  return {
    card: ModelCard.parse(JSON.parse(readFileSync(join(dir, "model.json"), "utf8"))),
    onnx: readFileSync(join(dir, "model.onnx")),
  };
}

/** Pointers and artifacts in memory, with the resolution rules of the S3 source. */
class MemoryStore implements ModelStore {
  readonly pointers = new Map<string, PromotionPointer>();
  readonly runs = new Map<string, FetchedModel>();

  publish(scope: string, type: Fixture, runId: string, promote = true): PromotionPointer {
    const { card, onnx } = fixture(type);
    this.runs.set(runId, { card: { ...card, run_id: runId }, onnx });
    const pointer: PromotionPointer = {
      model_uri: `s3://artifacts/runs/${runId}/model.onnx`,
      card_uri: `s3://artifacts/runs/${runId}/model.json`,
      run_id: runId,
      model_type: card.model_type,
      config_hash: HASH,
      identifier: scope,
      scope,
      score: 0,
      promoted_at: new Date().toISOString(),
    };
    if (promote) this.pointers.set(scope, pointer);
    return pointer;
  }

  async readPointer(scope: string): Promise<PromotionPointer | null> {
    return this.pointers.get(scope) ?? null;
  }

  async resolve(identifier: string, globalFallback: boolean): Promise<ResolvedPointer | null> {
    const own = this.pointers.get(identifier);
    if (own) return { pointer: own, scope: identifier, key: `${identifier}/current.json` };
    const global = globalFallback ? this.pointers.get("global") : undefined;
    return global ? { pointer: global, scope: "global", key: "global/current.json" } : null;
  }

  async fetch(ref: ModelRef): Promise<FetchedModel> {
    const run = this.runs.get(ref.run_id);
    if (!run) throw new Error(`no run ${ref.run_id}`);
    return run;
  }
}

const registries: ModelRegistry[] = [];
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.stop()));
});

function registry(store: MemoryStore, settings: Partial<RegistrySettings> = {}) {
  const metrics = new InferenceMetrics(false);
  const r = new ModelRegistry(
    store,
    {
      defaultIdentifier: "home",
      globalFallback: true,
      maxSessions: 4,
      pointerPollMs: 0,
      intraOpThreads: 1,
      ortWorker: false,
      batching: { maxBatch: 8, windowMs: 0, ttlMs: 1000 },
      ...settings,
    },
    new QueueBudget(100),
    metrics,
    new Logger({ serviceName: "registry-test", logLevel: "ERROR" }),
  );
  registries.push(r);
  return { r, metrics };
}

/** A started registry over `store` that serves its default identifier. */
async function readyRegistry(store: MemoryStore, settings: Partial<RegistrySettings> = {}) {
  const made = registry(store, settings);
  made.r.start();
  await pollUntil("the default identifier's model", () => made.r.ready);
  return made;
}

async function problemOf(promise: Promise<unknown>): Promise<Problem> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Problem);
  return error as Problem;
}

describe("ModelRegistry", () => {
  it("answers 503 for the default identifier until its model is loaded", async () => {
    const store = new MemoryStore();
    const { r } = registry(store);
    expect((await problemOf(r.lookup(undefined))).status).toBe(503);
    r.start();
    store.publish("home", "gru", "run-home");
    await pollUntil("ready", () => r.ready);
    expect((await r.lookup(undefined)).model.identity).toMatchObject({ scope: "home", run_id: "run-home" });
  });

  it("serves identifiers without a pointer from global, and names unknown ones when there is no fallback", async () => {
    const store = new MemoryStore();
    store.publish("home", "gru", "run-home");
    store.publish("global", "prophet", "run-global");
    const { r } = await readyRegistry(store);
    const other = await r.lookup("elsewhere");
    expect(other.model.identity).toMatchObject({ scope: "global", run_id: "run-global" });
    expect(await r.lookup("another")).toBe(other);

    const strict = (await readyRegistry(store, { globalFallback: false })).r;
    const problem = await problemOf(strict.lookup("elsewhere"));
    expect(problem).toMatchObject({ status: 400, field: "identifier" });
  });

  it("never serves another scope's model as the default identifier's", async () => {
    const store = new MemoryStore();
    store.publish("global", "prophet", "run-global");
    store.publish("home", "gru", "run-home");
    store.runs.delete("run-home"); // its artifacts are missing: the default cannot load
    const { r } = registry(store);
    r.start();
    const other = await r.lookup("elsewhere");
    expect(other.model.identity).toMatchObject({ scope: "global", run_id: "run-global" });
    expect(r.ready).toBe(false);
    expect((await problemOf(r.lookup(undefined))).status).toBe(503);
  });

  it("moves the default identifier from global to its own pointer and retires the global session", async () => {
    const store = new MemoryStore();
    store.publish("global", "prophet", "run-global");
    const { r, metrics } = await readyRegistry(store);
    const before = await r.lookup(undefined);
    expect(before.model.identity.scope).toBe("global");

    store.publish("home", "lstm", "run-home");
    await r.refresh("poll");
    const after = await r.lookup(undefined);
    expect(after.model.identity).toMatchObject({ scope: "home", run_id: "run-home" });
    expect(before.model.acquire()).toBe(false);
    const info = await metrics.modelInfo.get();
    expect(info.values.map((v) => v.labels.run_id)).toEqual(["run-home"]);
  });

  it("swaps to the model named by model-selected before its pointer is read", async () => {
    const store = new MemoryStore();
    store.publish("home", "gru", "run-1");
    const { r, metrics } = await readyRegistry(store);
    const next = store.publish("home", "lstm", "run-2", false);
    const message: ModelSelectedMessage = {
      model_uri: next.model_uri,
      run_id: "run-2",
      model_type: "LSTM",
      config_hash: HASH,
      identifier: "home",
      score: 0.1,
      rmse: 1,
      mae: 1,
      mse: 1,
      scoreboard: [],
    };
    await r.onModelSelected(message);
    const serving = await r.lookup(undefined);
    expect(serving.model.identity.run_id).toBe("run-2");
    expect(serving.scoreboard).toEqual([]);
    const swaps = await metrics.swaps.get();
    expect(swaps.values.find((v) => v.labels.trigger === "message")?.value).toBe(1);
  });

  it("bounds the sessions of other identifiers and retires the least recently used", async () => {
    const store = new MemoryStore();
    store.publish("home", "gru", "run-home");
    store.publish("a", "lstm", "run-a");
    store.publish("b", "prophet", "run-b");
    const { r } = await readyRegistry(store, { maxSessions: 1 });
    const a = await r.lookup("a");
    const b = await r.lookup("b");
    expect(b.model.identity.run_id).toBe("run-b");
    expect(a.model.acquire()).toBe(false);
    const home = await r.lookup(undefined);
    expect(home.model.acquire()).toBe(true);
    home.model.release();
    const again = await r.lookup("a");
    expect(again).not.toBe(a);
    expect(again.model.identity.run_id).toBe("run-a");
  });
});
