/** Pointer resolution against real MinIO, in a bucket of its own (the shared promotion bucket is left alone). */
import { randomUUID } from "node:crypto";
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCommonConfig } from "../../functions/common/config.ts";
import type { PromotionPointer } from "../../functions/common/contracts.ts";
import { promotionKeys } from "../../functions/common/keys.ts";
import { resolvePointer } from "../../functions/common/promotion.ts";
import { createS3Client, putJson } from "../../functions/common/s3.ts";
import { applyLocalServiceEnv } from "../../local/services/env.ts";

const bucket = "flts-test-pointers";
let s3: S3Client;

const pointer = (scope: string, runId: string): PromotionPointer => ({
  model_uri: `s3://model-artifacts/runs/${runId}/model.onnx`,
  run_id: runId,
  model_type: "GRU",
  config_hash: "c".repeat(64),
  identifier: scope === "global" ? "Elsewhere" : scope,
  scope,
  score: 0.5,
  card_uri: `s3://model-artifacts/runs/${runId}/model.json`,
  promoted_at: new Date().toISOString(),
});

beforeAll(async () => {
  applyLocalServiceEnv();
  s3 = createS3Client(loadCommonConfig().storage);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error) => {
      if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(String((error as Error).name))) throw error;
    });
  }
});
afterAll(() => s3?.destroy());

describe("resolvePointer (real MinIO)", () => {
  it("prefers <identifier>/current.json, then falls back to global/current.json", async () => {
    const id = `it-${randomUUID().slice(0, 8)}`;
    const globalRun = `global-${randomUUID().slice(0, 8)}`;
    await putJson(s3, bucket, promotionKeys.current("global"), pointer("global", globalRun));

    const fallback = await resolvePointer(s3, bucket, id);
    expect(fallback).toMatchObject({ key: "global/current.json", scope: "global" });
    expect(fallback?.pointer.run_id).toBe(globalRun);

    await putJson(s3, bucket, promotionKeys.current(id), pointer(id, `${id}-gru-1`));
    const own = await resolvePointer(s3, bucket, id);
    expect(own).toMatchObject({ key: `${id}/current.json`, scope: id });
    expect(own?.pointer.run_id).toBe(`${id}-gru-1`);
  });

  it("resolves global/current.json when no identifier is given", async () => {
    const resolved = await resolvePointer(s3, bucket, undefined);
    expect(resolved?.scope).toBe("global");
  });

  it("returns null when neither pointer exists", async () => {
    expect(await resolveInEmptyBucket(`it-${randomUUID().slice(0, 8)}`)).toBeNull();
  });

  it("rejects a malformed pointer, naming the missing field", async () => {
    const id = `it-${randomUUID().slice(0, 8)}`;
    const { model_uri: _omit, ...bad } = pointer(id, `${id}-gru-1`);
    await putJson(s3, bucket, promotionKeys.current(id), bad);
    await expect(resolvePointer(s3, bucket, id)).rejects.toThrow(/model_uri/);
  });
});

/** Resolution in a second test bucket that never holds a pointer. */
async function resolveInEmptyBucket(id: string) {
  const empty = "flts-test-pointers-empty";
  try {
    await s3.send(new HeadBucketCommand({ Bucket: empty }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: empty }));
  }
  return resolvePointer(s3, empty, id);
}
