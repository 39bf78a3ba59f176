/** Shared helpers of the inference tests: fixture models in MinIO, service instances, polling. */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { loadCommonConfig } from "../../functions/common/config.ts";
import type { ModelCard, PromotionPointer } from "../../functions/common/contracts.ts";
import { createS3Client } from "../../functions/common/s3.ts";
import { loadInferenceConfig } from "../../functions/inference/config.ts";
import { type InferenceService, startInferenceService } from "../../functions/inference/service.ts";
import { repoRoot } from "../../local/paths.ts";
import { readModelDir, uploadModel, writePointer } from "../../local/seed-model.ts";
import { applyLocalServiceEnv } from "../../local/services/env.ts";
import { pollUntil } from "../poll.ts";

applyLocalServiceEnv();

export type FixtureType = "gru" | "lstm" | "prophet" | "linear30";

export interface Expected {
  x: number[][][];
  t: number[][];
  y: number[][][];
  /** `[window, horizon, target, level]`, for a model with quantiles. */
  q?: number[][][][];
}

export const fixtureDir = (type: FixtureType): string => join(repoRoot, "test", "fixtures", "models", type);

export function expectedOf(type: FixtureType): Expected {
  return JSON.parse(readFileSync(join(fixtureDir(type), "expected.json"), "utf8")) as Expected;
}

export function cardOf(type: FixtureType): ModelCard {
  return readModelDir(fixtureDir(type)).card;
}

/** The request `data` for window `i` of a fixture's expected.json: ISO timestamps, card-order features. */
export function windowData(type: FixtureType, i: number): Record<string, unknown> {
  const { x, t } = expectedOf(type);
  const card = cardOf(type);
  const rows = x[i] as number[][];
  const firstForecast = (t[i] as number[])[0] as number;
  const data: Record<string, unknown> = {
    ts: rows.map((_, r) =>
      new Date((firstForecast - (rows.length - r) * card.step_seconds) * 1000).toISOString(),
    ),
  };
  card.features.forEach((name, f) => {
    data[name] = rows.map((row) => row[f]);
  });
  return data;
}

export const unique = (prefix: string): string => `${prefix}-${Date.now()}-${randomBytes(3).toString("hex")}`;

export const common = () => loadCommonConfig();
export const s3 = () => createS3Client(loadCommonConfig().storage);

/** Uploads a fixture under `runId` for `identifier`; writes the pointer unless `promote` is false. */
export async function publishFixture(
  type: FixtureType,
  runId: string,
  identifier: string,
  promote = true,
): Promise<PromotionPointer> {
  const { storage } = loadCommonConfig();
  const client = createS3Client(storage);
  const pointer = await uploadModel(
    client,
    storage.buckets,
    readModelDir(fixtureDir(type)),
    runId,
    identifier,
  );
  if (promote) await writePointer(client, storage.buckets.promotion, pointer);
  return pointer;
}

/** A service on an ephemeral loopback port; `env` overrides the process environment. */
export function startService(
  env: Record<string, string>,
  logger = new Logger({ serviceName: "flts-inference-test", logLevel: "WARN" }),
): Promise<InferenceService> {
  return startInferenceService(
    loadInferenceConfig({
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      ...env,
    }),
    logger,
  );
}

/**
 * Publishes the GRU fixture as `runId` for `identifier` and returns a ready service for it that
 * hears no Kafka, polls no pointer, falls back to no `global` and caches nothing; `env` overrides.
 */
export async function serveFixture(
  identifier: string,
  runId: string,
  env: Record<string, string>,
  logger?: Logger,
): Promise<InferenceService> {
  await publishFixture("gru", runId, identifier);
  const service = await startService(
    {
      MODEL_IDENTIFIER: identifier,
      GLOBAL_FALLBACK: "0",
      KAFKA_LISTEN: "0",
      POINTER_POLL_MS: "0",
      CACHE_SIZE: "0",
      ...env,
    },
    logger,
  );
  await waitReady(service);
  return service;
}

export async function waitReady(service: InferenceService, timeoutMs = 30_000): Promise<void> {
  await pollUntil("/readyz 200", async () => (await fetch(`${service.url}/readyz`)).status === 200, {
    timeoutMs,
  });
}

export function post(service: InferenceService, path: string, body: unknown): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
