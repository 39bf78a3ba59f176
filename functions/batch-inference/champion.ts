/**
 * The model that scores an identifier's data: its own champion (`<identifier>/current.json`, no
 * `global` fallback: scoring is against the identifier's model), the card and ONNX bytes, and the
 * gap tolerance of the data it was trained on.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { type ModelCard, PermanentError, ProcessedMeta, PromotionPointer } from "../common/contracts.ts";
import { promotionKeys } from "../common/promotion.ts";
import { getJsonIfExists } from "../common/s3.ts";
import { ModelSource } from "../inference/model-source.ts";

export class NoChampionError extends PermanentError {}

export interface Champion {
  pointer: PromotionPointer;
  card: ModelCard;
  onnx: Uint8Array;
  /** From the training data's sidecar; 3 steps (the trainer's default) when it is not found. */
  gapToleranceSeconds: number;
}

export async function loadChampion(
  s3: S3Client,
  buckets: { promotion: string },
  identifier: string,
): Promise<Champion> {
  const key = promotionKeys.current(identifier);
  const pointer = await getJsonIfExists(s3, buckets.promotion, key, PromotionPointer);
  if (!pointer)
    throw new NoChampionError(
      `identifier '${identifier}' has no champion: s3://${buckets.promotion}/${key} does not exist (run the pipeline on its data first)`,
    );
  const { card, onnx } = await new ModelSource(s3, buckets.promotion).fetch(pointer);
  const claim = card.training_data;
  const meta = await getJsonIfExists(
    s3,
    claim.bucket,
    claim.object_key.replace(/[^/]+$/, ".meta.json"),
    ProcessedMeta,
  );
  return {
    pointer,
    card,
    onnx,
    gapToleranceSeconds: meta?.config.gap_tolerance_seconds ?? 3 * card.step_seconds,
  };
}
