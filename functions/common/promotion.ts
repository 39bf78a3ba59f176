/** Resolving the promotion pointer to serve (keys: functions/common/keys.ts, model-promotion). */
import type { S3Client } from "@aws-sdk/client-s3";
import { PromotionPointer } from "./contracts.ts";
import { GLOBAL_SCOPE, promotionKeys } from "./keys.ts";
import { getJsonIfExists } from "./s3.ts";

export interface ResolvedPointer {
  pointer: PromotionPointer;
  /** The key it was read from, e.g. `PobleSec/current.json` or `global/current.json`. */
  key: string;
  scope: string;
}

/**
 * The model to serve for `identifier`: `<identifier>/current.json`, else `global/current.json`,
 * else null. Pointers are validated (a malformed pointer is an error, not a silent fallback).
 */
export async function resolvePointer(
  s3: S3Client,
  bucket: string,
  identifier: string | null | undefined,
): Promise<ResolvedPointer | null> {
  const scopes = identifier && identifier !== GLOBAL_SCOPE ? [identifier, GLOBAL_SCOPE] : [GLOBAL_SCOPE];
  for (const scope of scopes) {
    const key = promotionKeys.current(scope);
    const pointer = await getJsonIfExists(s3, bucket, key, PromotionPointer);
    if (pointer) return { pointer, key, scope };
  }
  return null;
}
