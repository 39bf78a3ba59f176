/**
 * Prefix-scoped S3 grants derived from the manifest's BucketGrant entries. Only named actions, never
 * `s3:*`; object ARNs are limited to `<bucket>/<prefix>*` and ListBucket to the same prefix.
 */
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import type { BucketGrant, BucketRole } from "../../functions/manifest.ts";
import { acknowledge } from "../nag.ts";

export type BucketMap = Record<BucketRole, s3.IBucket>;

export const READ_ACTIONS = ["s3:GetObject", "s3:GetObjectAttributes", "s3:GetObjectTagging"] as const;
export const WRITE_ACTIONS = ["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"] as const;

/** The env var every function reads for each bucket role (functions/common/config.ts). */
export const BUCKET_ENV: Record<BucketRole, string> = {
  raw: "RAW_BUCKET",
  processed: "PROCESSED_BUCKET",
  artifacts: "ARTIFACTS_BUCKET",
  promotion: "PROMOTION_BUCKET",
  inferenceLogs: "INFERENCE_LOGS_BUCKET",
};

export function grantBucketPrefix(principal: iam.IGrantable, bucket: s3.IBucket, grant: BucketGrant): void {
  const objects = bucket.arnForObjects(`${grant.prefix}*`);
  if (Construct.isConstruct(principal.grantPrincipal)) {
    // cdk-nag IAM5 flags `<bucket>/<prefix>*`; that wildcard is the manifest's prefix scope itself.
    acknowledge(principal.grantPrincipal, [
      {
        id: "AwsSolutions-IAM5",
        reason: `Objects under the granted prefix '${grant.prefix}' of the ${grant.bucket} bucket (manifest BucketGrant, ${grant.access}); no other keys.`,
        findings: objectFinding(grant.prefix),
      },
    ]);
  }
  const reads = grant.access === "read" || grant.access === "readwrite";
  const writes = grant.access === "write" || grant.access === "readwrite";
  const actions = [...(reads ? READ_ACTIONS : []), ...(writes ? WRITE_ACTIONS : [])];
  principal.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [objects] }));
  if (reads) {
    // ListBucket lets a missing key answer 404 instead of 403 and lets the stage scan its prefix.
    principal.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["s3:ListBucket"],
        resources: [bucket.bucketArn],
        ...(grant.prefix ? { conditions: { StringLike: { "s3:prefix": [`${grant.prefix}*`] } } } : {}),
      }),
    );
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** cdk-nag's finding text for `<bucket arn>/<prefix>*`, whether the ARN is local (`<X.Arn>`) or imported (export name). */
export function objectFinding(prefix: string): RegExp {
  return new RegExp(
    `^Resource::(<[A-Za-z0-9]+\\.Arn>|[A-Za-z0-9-]+:ExportsOutputFnGetAtt[A-Za-z0-9]+)\\/${escapeRe(prefix)}\\*$`,
  );
}

export function grantBuckets(
  principal: iam.IGrantable,
  buckets: BucketMap,
  grants: readonly BucketGrant[],
): void {
  for (const g of grants) grantBucketPrefix(principal, buckets[g.bucket], g);
}

/** RAW_BUCKET=..., PROCESSED_BUCKET=... for every bucket. */
export function bucketEnvironment(buckets: BucketMap): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [role, name] of Object.entries(BUCKET_ENV) as [BucketRole, string][]) {
    env[name] = buckets[role].bucketName;
  }
  return env;
}
