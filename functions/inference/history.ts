/**
 * The promotion history of one scope, read from `<scope>/<config_hash>/promotion-<timestamp>.json`
 * (functions/common/promotion.ts promotionKeys) across every config hash, oldest first.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { PromotionHistoryEntry } from "../common/contracts.ts";
import { promotionKeys } from "../common/promotion.ts";
import { getJsonIfExists, listKeys } from "../common/s3.ts";

export interface HistoryItem {
  key: string;
  entry: PromotionHistoryEntry;
}

/** Whether `key` (under `<scope>/`) is a history entry of its config hash. */
function isHistoryKey(scope: string, key: string): boolean {
  const configHash = key.slice(scope.length + 1).split("/")[0] ?? "";
  return configHash !== "" && key.startsWith(promotionKeys.historyPrefix(scope, configHash));
}

export async function readHistory(s3: S3Client, bucket: string, scope: string): Promise<HistoryItem[]> {
  const keys = (await listKeys(s3, bucket, `${scope}/`)).filter((k) => isHistoryKey(scope, k));
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
