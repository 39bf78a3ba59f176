/** Service settings: defaults, overrides, and errors that name the bad setting. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../functions/common/settings.ts";
import { loadInferenceConfig } from "../../functions/inference/config.ts";

describe("loadInferenceConfig", () => {
  it("has serving defaults and a consumer group unique to the instance", () => {
    const a = loadInferenceConfig({});
    const b = loadInferenceConfig({});
    expect(a).toMatchObject({
      port: 8080,
      defaultIdentifier: "global",
      globalFallback: true,
      modelSelectedTopic: "model-selected",
      intraOpThreads: 1,
      bodyTimeoutMs: 5000,
      tsMaxDistanceDays: 36525,
      readyWaitMs: 20000,
    });
    expect(a.storage.buckets).toMatchObject({
      promotion: "model-promotion",
      inferenceLogs: "inference-logs",
    });
    expect(a.kafkaGroupId).toMatch(/^flts-inference-.+-\d+-[0-9a-f]{6}$/);
    expect(a.kafkaGroupId).not.toBe(b.kafkaGroupId);
  });

  it("reads every setting from the environment", () => {
    const config = loadInferenceConfig({
      PORT: "9000",
      MODEL_IDENTIFIER: "PobleSec",
      GLOBAL_FALLBACK: "0",
      QUEUE_MAX: "10",
      BATCH_WINDOW_MS: "2",
      MAX_BATCH: "16",
      QUEUE_TTL_MS: "100",
      BODY_LIMIT_BYTES: "2048",
      BODY_TIMEOUT_MS: "750",
      TS_MAX_DISTANCE_DAYS: "0",
      READY_WAIT_MS: "0",
      CACHE_SIZE: "0",
      MAX_SESSIONS: "2",
      POINTER_POLL_MS: "1000",
      KAFKA_GROUP_ID: "fixed",
      INFERENCE_LOGS_BUCKET: "logs-elsewhere",
    });
    expect(config).toMatchObject({
      port: 9000,
      defaultIdentifier: "PobleSec",
      globalFallback: false,
      queueMax: 10,
      batchWindowMs: 2,
      maxBatch: 16,
      queueTtlMs: 100,
      bodyLimitBytes: 2048,
      bodyTimeoutMs: 750,
      tsMaxDistanceDays: 0,
      readyWaitMs: 0,
      cacheSize: 0,
      maxSessions: 2,
      pointerPollMs: 1000,
      kafkaGroupId: "fixed",
    });
    expect(config.storage.buckets.inferenceLogs).toBe("logs-elsewhere");
  });

  it.each([
    ["QUEUE_MAX", "many"],
    ["MAX_BATCH", "0"],
    ["PORT", "70000"],
    ["GLOBAL_FALLBACK", "maybe"],
    ["BATCH_WINDOW_MS", "-1"],
    ["BODY_TIMEOUT_MS", "0"],
    ["READY_WAIT_MS", "soon"],
  ])("names the bad setting %s=%s", (name, value) => {
    expect(() => loadInferenceConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadInferenceConfig({ [name]: value })).toThrow(name);
  });
});
