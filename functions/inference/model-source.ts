/** Where models come from: promotion pointers, model cards and ONNX bytes in S3. */
import type { S3Client } from "@aws-sdk/client-s3";
import {
  ModelCard,
  PromotionHistoryEntry,
  PromotionPointer,
  type ScoreboardEntry,
} from "../common/contracts.ts";
import { getBytes, getJson, getJsonIfExists, listKeys, parseS3Uri } from "../common/s3.ts";

export const GLOBAL_SCOPE = "global";

export interface ResolvedPointer {
  /** The scope whose `current.json` answered: the identifier itself or `global`. */
  scope: string;
  pointer: PromotionPointer;
}

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

export class ModelSource {
  constructor(
    private readonly s3: S3Client,
    private readonly promotionBucket: string,
  ) {}

  readPointer(scope: string): Promise<PromotionPointer | null> {
    return getJsonIfExists(this.s3, this.promotionBucket, `${scope}/current.json`, PromotionPointer);
  }

  /** `<identifier>/current.json`, then (when allowed) `global/current.json`; null when neither exists. */
  async resolve(identifier: string, globalFallback: boolean): Promise<ResolvedPointer | null> {
    const own = await this.readPointer(identifier);
    if (own) return { scope: identifier, pointer: own };
    if (!globalFallback || identifier === GLOBAL_SCOPE) return null;
    const global = await this.readPointer(GLOBAL_SCOPE);
    return global ? { scope: GLOBAL_SCOPE, pointer: global } : null;
  }

  async fetch(ref: ModelRef): Promise<FetchedModel> {
    const model = parseS3Uri(ref.model_uri);
    const cardLocation = ref.card_uri
      ? parseS3Uri(ref.card_uri)
      : { bucket: model.bucket, key: model.key.replace(/[^/]*$/, "model.json") };
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
    const prefix = `${scope}/${configHash}/promotion-`;
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
