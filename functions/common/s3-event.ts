/**
 * S3 event records (AWS S3 notifications, and MinIO's, which carry the same `Records`): validated and
 * reduced to the object reference a stage needs. Keys arrive URL-encoded with '+' for spaces.
 */
import { z } from "zod";
import { describeIssues } from "./contracts.ts";

export interface ObjectRef {
  bucket: string;
  key: string;
  size: number | null;
  eTag: string | null;
  eventName: string;
}

const S3Record = z.looseObject({
  eventName: z.string().min(1),
  s3: z.looseObject({
    bucket: z.looseObject({ name: z.string().min(1) }),
    object: z.looseObject({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      eTag: z.string().optional(),
    }),
  }),
});

const S3Event = z.looseObject({ Records: z.array(z.unknown()) });

export class S3EventError extends Error {}

export function decodeS3Key(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, " "));
}

export function parseS3Record(record: unknown): ObjectRef {
  const parsed = S3Record.safeParse(record);
  if (!parsed.success) throw new S3EventError(`invalid S3 event record: ${describeIssues(parsed.error)}`);
  const r = parsed.data;
  return {
    bucket: r.s3.bucket.name,
    key: decodeS3Key(r.s3.object.key),
    size: r.s3.object.size ?? null,
    eTag: r.s3.object.eTag ?? null,
    eventName: r.eventName,
  };
}

/** Every ObjectCreated record of an S3 (or MinIO) notification; other event kinds are left out. */
export function parseS3Event(event: unknown): ObjectRef[] {
  const parsed = S3Event.safeParse(event);
  if (!parsed.success) throw new S3EventError(`invalid S3 event: ${describeIssues(parsed.error)}`);
  return parsed.data.Records.map((r, i) => {
    try {
      return parseS3Record(r);
    } catch (error) {
      throw new S3EventError(`Records[${i}]: ${(error as Error).message}`);
    }
  }).filter((ref) => /ObjectCreated/.test(ref.eventName));
}

/** An AWS-shaped S3 event for one object (used by the local runtime and tests). */
export function s3EventFor(ref: { bucket: string; key: string; size?: number; eTag?: string }): {
  Records: unknown[];
} {
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        eventName: "ObjectCreated:Put",
        eventTime: new Date().toISOString(),
        s3: {
          bucket: { name: ref.bucket },
          object: {
            key: encodeURIComponent(ref.key).replace(/%2F/g, "/").replace(/%20/g, "+"),
            size: ref.size ?? 0,
            eTag: ref.eTag ?? "",
          },
        },
      },
    ],
  };
}
