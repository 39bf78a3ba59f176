/** Which S3-triggered functions an object belongs to: the manifest's bucket role, prefix and suffixes. */
import type { StorageConfig } from "../../functions/common/config.ts";
import type { ObjectRef } from "../../functions/common/s3-event.ts";
import type { S3Trigger } from "../../functions/manifest.ts";

export function matchesS3Trigger(
  trigger: S3Trigger,
  ref: Pick<ObjectRef, "bucket" | "key">,
  storage: StorageConfig,
): boolean {
  if (storage.buckets[trigger.bucket] !== ref.bucket) return false;
  if (trigger.prefix && !ref.key.startsWith(trigger.prefix)) return false;
  return trigger.suffixes.some((s) => ref.key.endsWith(s));
}

/**
 * The identifier an object belongs to, where its key says so: raw and processed keys start with it.
 * Run artifacts (`runs/<run_id>/...`) return null: their run id starts with the identifier.
 */
export function identifierOfObject(
  ref: Pick<ObjectRef, "bucket" | "key">,
  storage: StorageConfig,
): string | null {
  if (ref.bucket === storage.buckets.raw || ref.bucket === storage.buckets.processed)
    return ref.key.split("/")[0] ?? null;
  return null;
}
