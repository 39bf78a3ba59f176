/**
 * S3 event records (as AWS delivers them to Lambda), validated with Powertools Parser's S3 schema and
 * reduced to the object reference a stage needs. Keys arrive URL-encoded with '+' for spaces.
 */
import { S3Schema } from "@aws-lambda-powertools/parser/schemas/s3";
import type { z } from "zod";
import { describeIssues } from "./contracts.ts";

export interface ObjectRef {
  bucket: string;
  key: string;
  size: number | null;
  eTag: string | null;
  eventName: string;
}

export class S3EventError extends Error {}

export function decodeS3Key(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, " "));
}

export function objectRefOf(record: z.output<typeof S3Schema>["Records"][number]): ObjectRef {
  return {
    bucket: record.s3.bucket.name,
    key: decodeS3Key(record.s3.object.key),
    size: record.s3.object.size ?? null,
    eTag: record.s3.object.eTag || null,
    eventName: record.eventName,
  };
}

export const isObjectCreated = (ref: Pick<ObjectRef, "eventName">): boolean =>
  /ObjectCreated/.test(ref.eventName);

/** Every ObjectCreated record of an S3 event; other event kinds are left out. */
export function parseS3Event(event: unknown): ObjectRef[] {
  const parsed = S3Schema.safeParse(event);
  if (!parsed.success) throw new S3EventError(`invalid S3 event: ${describeIssues(parsed.error)}`);
  return parsed.data.Records.map(objectRefOf).filter(isObjectCreated);
}
