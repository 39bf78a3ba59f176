/** Where models come from: promotion pointers, model cards and ONNX bytes in S3. */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  ModelCard,
  PromotionHistoryEntry,
  PromotionPointer,
  type ScoreboardEntry,
} from "../common/contracts.ts";
import { promotionKeys, RUN_FILES } from "../common/keys.ts";
import { type ResolvedPointer, resolvePointer } from "../common/promotion.ts";
import { getBytes, getJson, getJsonIfExists, listKeys, parseS3Uri } from "../common/s3.ts";

export type { ResolvedPointer };

/** What to load: a pointer, or a `model-selected` message (which has no card URI). */
export interface ModelRef {
  run_id: string;
  model_uri: string;
  card_uri?: string | undefined;
}

export interface FetchedModel {
  card: ModelCard;
  onnx: Uint8Array;
}

/** What the registry needs from a model source (tests substitute an in-memory one). */
export type ModelStore = Pick<ModelSource, "readPointer" | "resolve" | "fetch">;

export class ModelSource {
  constructor(
    private readonly s3: S3Client,
    private readonly promotionBucket: string,
  ) {}

  readPointer(scope: string): Promise<PromotionPointer | null> {
    return getJsonIfExists(this.s3, this.promotionBucket, promotionKeys.current(scope), PromotionPointer);
  }

  /** `<identifier>/current.json`, then (when allowed) `global/current.json`; null when neither exists. */
  async resolve(identifier: string, globalFallback: boolean): Promise<ResolvedPointer | null> {
    if (globalFallback) return resolvePointer(this.s3, this.promotionBucket, identifier);
    const pointer = await this.readPointer(identifier);
    return pointer ? { pointer, scope: identifier, key: promotionKeys.current(identifier) } : null;
  }

  async fetch(ref: ModelRef): Promise<FetchedModel> {
    const model = parseS3Uri(ref.model_uri);
    const cardLocation = ref.card_uri
      ? parseS3Uri(ref.card_uri)
      : { bucket: model.bucket, key: model.key.replace(/[^/]*$/, RUN_FILES.card) };
    const [card, onnx] = await Promise.all([
      getJson(this.s3, cardLocation.bucket, cardLocation.key, ModelCard),
      getBytes(this.s3, model.bucket, model.key),
    ]);
    if (card.run_id !== ref.run_id) {
      throw new Error(`card s3://${cardLocation.bucket}/${cardLocation.key} is for run ${card.run_id}`);
    }
    return { card, onnx };
  }

  /** The scoreboard of the latest promotion of `run_id` in `scope`, when its history is found. */
  async scoreboard(scope: string, configHash: string, runId: string): Promise<ScoreboardEntry[] | null> {
    const prefix = promotionKeys.historyPrefix(scope, configHash);
    const keys = (await listKeys(this.s3, this.promotionBucket, prefix)).sort();
    for (let i = keys.length - 1; i >= Math.max(0, keys.length - 5); i--) {
      const entry = await getJsonIfExists(
        this.s3,
        this.promotionBucket,
        keys[i] as string,
        PromotionHistoryEntry,
      );
      if (entry?.pointer.run_id === runId) return entry.scoreboard;
    }
    return null;
  }
}
