/** The one S3 client module: AWS S3, MinIO and LocalStack alike, chosen by endpoint. */

import { Tracer } from "@aws-lambda-powertools/tracer";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import type { z } from "zod";
import type { StorageConfig } from "./config.ts";
import { parseContract } from "./contracts.ts";

/** X-Ray subsegments for the S3 calls in Lambda; outside Lambda the tracer is off and the client as it is. */
const tracer = new Tracer();

export function createS3Client(
  storage: Pick<StorageConfig, "endpoint" | "forcePathStyle" | "region">,
): S3Client {
  return tracer.captureAWSv3Client(
    new S3Client({
      region: storage.region,
      forcePathStyle: storage.forcePathStyle,
      ...(storage.endpoint ? { endpoint: storage.endpoint } : {}),
    }),
  );
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match?.[1] || match[2] === undefined) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: match[1], key: match[2] };
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

export function isNotFound(error: unknown): boolean {
  return (
    statusOf(error) === 404 ||
    (error instanceof S3ServiceException && (error.name === "NoSuchKey" || error.name === "NotFound"))
  );
}

export async function getBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return out.Body.transformToByteArray();
}

/** The object's bytes, or null when it does not exist. */
export async function getBytesIfExists(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<Uint8Array | null> {
  try {
    return await getBytes(s3, bucket, key);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Reads a JSON document and validates it against `schema`; null when the object does not exist. */
export async function getJsonIfExists<S extends z.ZodType>(
  s3: S3Client,
  bucket: string,
  key: string,
  schema: S,
): Promise<z.output<S> | null> {
  const bytes = await getBytesIfExists(s3, bucket, key);
  if (bytes === null) return null;
  return parseContract(schema, `s3://${bucket}/${key}`, JSON.parse(Buffer.from(bytes).toString("utf8")));
}

export async function getJson<S extends z.ZodType>(
  s3: S3Client,
  bucket: string,
  key: string,
  schema: S,
): Promise<z.output<S>> {
  const doc = await getJsonIfExists(s3, bucket, key, schema);
  if (doc === null) throw new Error(`s3://${bucket}/${key} does not exist`);
  return doc;
}

export async function putBytes(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string,
  contentType = "application/octet-stream",
): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

export async function putJson(s3: S3Client, bucket: string, key: string, doc: unknown): Promise<void> {
  await putBytes(s3, bucket, key, JSON.stringify(doc), "application/json");
}

/**
 * Writes the object only if no object has that key (`If-None-Match: *`).
 * Returns false when another writer got there first (HTTP 412), which makes it a durable guard.
 */
export async function putIfAbsent(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string,
  contentType = "application/json",
): Promise<boolean> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        IfNoneMatch: "*",
      }),
    );
    return true;
  } catch (error) {
    if (statusOf(error) === 412) return false;
    throw error;
  }
}

export async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Deletes every object under `prefix` (1000 per request); returns how many were deleted. */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  const keys = await listKeys(s3, bucket, prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    const page = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: page, Quiet: true } }),
    );
    const failed = result.Errors ?? [];
    if (failed.length > 0) {
      throw new Error(
        `could not delete ${failed.length} objects under s3://${bucket}/${prefix}: ${failed[0]?.Message}`,
      );
    }
  }
  return keys.length;
}
