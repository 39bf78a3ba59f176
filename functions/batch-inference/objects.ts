/** Whole objects to and from local files as streams (bounded memory whatever their size). */
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type InferenceDataMessage, PermanentError } from "../common/contracts.ts";
import { processedScoreKey } from "../common/keys.ts";
import { isNotFound, putBytes } from "../common/s3.ts";

export class MissingObjectError extends PermanentError {}

/** Downloads s3://bucket/key to `path`; a missing object is a permanent error naming it. */
export async function download(s3: S3Client, bucket: string, key: string, path: string): Promise<number> {
  let body: Readable;
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
    body = out.Body as Readable;
  } catch (error) {
    if (isNotFound(error))
      throw new MissingObjectError(`the claim check's object s3://${bucket}/${key} does not exist`);
    throw error;
  }
  await pipeline(body, createWriteStream(path));
  return (await stat(path)).size;
}

export async function upload(s3: S3Client, bucket: string, key: string, path: string): Promise<number> {
  const size = (await stat(path)).size;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: createReadStream(path),
      ContentLength: size,
      ContentType: "application/vnd.apache.parquet",
    }),
  );
  return size;
}

/** Stores a processed scoring Parquet and returns the `inference-data` claim check announcing it. */
export async function stageScoringObject(
  s3: S3Client,
  bucket: string,
  identifier: string,
  configHash: string,
  body: Uint8Array,
): Promise<InferenceDataMessage> {
  const key = processedScoreKey(identifier, configHash);
  await putBytes(s3, bucket, key, body);
  return {
    bucket,
    object_key: key,
    config_hash: configHash,
    identifier,
    v: 1,
    size: body.length,
    purpose: "score",
  };
}
