/**
 * The model that scores an identifier's data: its own champion (`<identifier>/current.json`, no
 * `global` fallback: scoring is against the identifier's model), the card and ONNX bytes, and the
 * sidecar of the data it was trained on. preprocess (score branch) reads the same pointer and sidecar.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  ModelCard,
  PermanentError,
  ProcessedMeta,
  PromotionPointer,
  type TrainingDataMessage,
} from "../common/contracts.ts";
import { promotionKeys, sidecarKey } from "../common/keys.ts";
import { getJson, getJsonIfExists, parseS3Uri } from "../common/s3.ts";
import { ModelSource } from "../inference/model-source.ts";

export class NoChampionError extends PermanentError {}

export interface Champion {
  pointer: PromotionPointer;
  card: ModelCard;
  onnx: Uint8Array;
  /** From the training data's sidecar; 3 steps (the trainer's default) when it is not found. */
  gapToleranceSeconds: number;
}

/** `<identifier>/current.json`; a NoChampionError naming the identifier when there is none. */
export async function championPointer(
  s3: S3Client,
  promotionBucket: string,
  identifier: string,
): Promise<PromotionPointer> {
  const key = promotionKeys.current(identifier);
  const pointer = await getJsonIfExists(s3, promotionBucket, key, PromotionPointer);
  if (!pointer)
    throw new NoChampionError(
      `identifier '${identifier}' has no champion: s3://${promotionBucket}/${key} does not exist (run the pipeline on its data first)`,
    );
  return pointer;
}

/** Where the sidecar of a training claim check lives: beside its objects. */
export function trainingMetaLocation(claim: TrainingDataMessage): { bucket: string; key: string } {
  return { bucket: claim.bucket, key: sidecarKey(claim.object_key) };
}

/** The sidecar of the data a model was trained on, or null when it is not found. */
async function trainingMeta(s3: S3Client, card: ModelCard): Promise<ProcessedMeta | null> {
  const { bucket, key } = trainingMetaLocation(card.training_data);
  return getJsonIfExists(s3, bucket, key, ProcessedMeta);
}

/** The champion's card alone (preprocess needs no ONNX bytes). */
export async function championCard(s3: S3Client, pointer: PromotionPointer): Promise<ModelCard> {
  const { bucket, key } = parseS3Uri(pointer.card_uri);
  const card = await getJson(s3, bucket, key, ModelCard);
  if (card.run_id !== pointer.run_id)
    throw new Error(`card ${pointer.card_uri} is for run ${card.run_id}, not ${pointer.run_id}`);
  return card;
}

export async function loadChampion(
  s3: S3Client,
  buckets: { promotion: string },
  identifier: string,
): Promise<Champion> {
  const pointer = await championPointer(s3, buckets.promotion, identifier);
  const { card, onnx } = await new ModelSource(s3, buckets.promotion).fetch(pointer);
  const meta = await trainingMeta(s3, card);
  return {
    pointer,
    card,
    onnx,
    gapToleranceSeconds: meta?.config.gap_tolerance_seconds ?? 3 * card.step_seconds,
  };
}
