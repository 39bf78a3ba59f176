/**
 * The promotion history of one scope, read from `<scope>/<config_hash>/promotion-<timestamp>.json`
 * (functions/common/keys.ts) across every config hash, oldest first.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { PromotionHistoryEntry } from "../common/contracts.ts";
import { parsePromotionKey, promotionKeys } from "../common/keys.ts";
import { getJsonIfExists, listKeys } from "../common/s3.ts";

export interface HistoryItem {
  key: string;
  entry: PromotionHistoryEntry;
}

function isHistoryKey(scope: string, key: string): boolean {
  const parsed = parsePromotionKey(key);
  return parsed?.kind === "history" && parsed.scope === scope;
}

export async function readHistory(s3: S3Client, bucket: string, scope: string): Promise<HistoryItem[]> {
  const keys = (await listKeys(s3, bucket, promotionKeys.scopePrefix(scope))).filter((k) =>
    isHistoryKey(scope, k),
  );
  const items: HistoryItem[] = [];
  for (const key of keys) {
    const entry = await getJsonIfExists(s3, bucket, key, PromotionHistoryEntry);
    if (entry) items.push({ key, entry });
  }
  return items.sort(
    (a, b) =>
      a.entry.pointer.promoted_at.localeCompare(b.entry.pointer.promoted_at) || a.key.localeCompare(b.key),
  );
}
