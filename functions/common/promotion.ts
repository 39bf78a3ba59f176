/**
 * Promotion pointers in the promotion bucket (DESIGN.md, "Contracts"):
 * `<scope>/current.json`, `<scope>/<config_hash>/current.json` and the history
 * `<scope>/<config_hash>/promotion-<timestamp>.json`; scope is the identifier or `global`.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { PromotionPointer } from "./contracts.ts";
import { getJsonIfExists } from "./s3.ts";

export const GLOBAL_SCOPE = "global";

export const promotionKeys = {
  current: (scope: string): string => `${scope}/current.json`,
  configCurrent: (scope: string, configHash: string): string => `${scope}/${configHash}/current.json`,
  history: (scope: string, configHash: string, timestamp: string): string =>
    `${scope}/${configHash}/promotion-${timestamp}.json`,
  historyPrefix: (scope: string, configHash: string): string => `${scope}/${configHash}/promotion-`,
};

/** A timestamp usable in a key: `2026-01-31T12-00-00-000Z`. */
export function keyTimestamp(iso: string): string {
  return iso.replace(/[:.]/g, "-");
}

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
