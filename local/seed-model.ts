/**
 * Publishing an exported model for local runs, tests and the bench: copies `model.onnx` and its card
 * (with the run id rewritten) to `<artifacts>/runs/<run_id>/` and writes the promotion pointer.
 * Not part of the service (functions/inference), which only reads what this writes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { ModelCard, type PromotionPointer } from "../functions/common/contracts.ts";
import { promotionKeys, runKeys } from "../functions/common/keys.ts";
import { putBytes, putJson, s3Uri } from "../functions/common/s3.ts";

export interface ModelFiles {
  card: ModelCard;
  onnx: Uint8Array;
}

/** `<dir>/model.onnx` and `<dir>/model.json`, the layout the trainer writes. */
export function readModelDir(dir: string): ModelFiles {
  return {
    card: ModelCard.parse(JSON.parse(readFileSync(join(dir, "model.json"), "utf8"))),
    onnx: readFileSync(join(dir, "model.onnx")),
  };
}

export interface Buckets {
  artifacts: string;
  promotion: string;
}

/** Uploads the model under `runId` for `identifier` and returns the pointer it would be promoted with. */
export async function uploadModel(
  s3: S3Client,
  buckets: Buckets,
  files: ModelFiles,
  runId: string,
  identifier: string,
  scope = identifier,
): Promise<PromotionPointer> {
  const card = { ...files.card, run_id: runId, identifier };
  await putBytes(s3, buckets.artifacts, runKeys.onnx(runId), files.onnx);
  await putJson(s3, buckets.artifacts, runKeys.card(runId), card);
  return {
    model_uri: s3Uri(buckets.artifacts, runKeys.onnx(runId)),
    card_uri: s3Uri(buckets.artifacts, runKeys.card(runId)),
    run_id: runId,
    model_type: card.model_type,
    config_hash: card.config_hash,
    identifier,
    scope,
    score: 0,
    promoted_at: new Date().toISOString(),
  };
}

export async function writePointer(s3: S3Client, bucket: string, pointer: PromotionPointer): Promise<void> {
  await putJson(s3, bucket, promotionKeys.current(pointer.scope), pointer);
}
