import { randomUUID } from "node:crypto";
import { GetObjectCommand, PutObjectCommand, S3ServiceException } from "@aws-sdk/client-s3";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { loadCommonConfig } from "../../functions/common/config.ts";
import {
  createS3Client,
  deleteObject,
  deletePrefix,
  exists,
  getBytes,
  listKeys,
  putBytes,
  putIfAbsent,
} from "../../functions/common/s3.ts";
import { S3_EVENTS_TOPIC } from "../../local/services/env.ts";

const config = loadCommonConfig();
const s3 = createS3Client(config.storage);
const bucket = config.storage.buckets.raw;
const prefix = `foundation-${randomUUID().slice(0, 8)}/`;

afterAll(async () => {
  for (const key of await listKeys(s3, bucket, prefix)) await deleteObject(s3, bucket, key);
  s3.destroy();
});

describe("@aws-sdk/client-s3 against the real local MinIO", () => {
  it("puts, gets, lists and deletes objects", async () => {
    await putBytes(s3, bucket, `${prefix}a.txt`, "alpha", "text/plain");
    await putBytes(s3, bucket, `${prefix}b.txt`, "beta", "text/plain");
    expect(Buffer.from(await getBytes(s3, bucket, `${prefix}a.txt`)).toString()).toBe("alpha");
    expect((await listKeys(s3, bucket, prefix)).sort()).toEqual([`${prefix}a.txt`, `${prefix}b.txt`]);
    await deleteObject(s3, bucket, `${prefix}a.txt`);
    expect(await exists(s3, bucket, `${prefix}a.txt`)).toBe(false);
    expect(await listKeys(s3, bucket, prefix)).toEqual([`${prefix}b.txt`]);
  });

  it("deletes everything under a prefix and nothing beside it", async () => {
    for (const name of ["x/1", "x/2", "x/3/deep", "y/1"])
      await putBytes(s3, bucket, `${prefix}${name}`, name);
    expect(await deletePrefix(s3, bucket, `${prefix}x/`)).toBe(3);
    expect(await listKeys(s3, bucket, `${prefix}x/`)).toEqual([]);
    expect(await listKeys(s3, bucket, `${prefix}y/`)).toEqual([`${prefix}y/1`]);
    expect(await deletePrefix(s3, bucket, `${prefix}x/`)).toBe(0);
  });

  it("accepts a conditional put with If-None-Match: * once and refuses the second with 412", async () => {
    const key = `${prefix}guard.json`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "first", IfNoneMatch: "*" }));
    const second = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: "second", IfNoneMatch: "*" }))
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(second).toBeInstanceOf(S3ServiceException);
    expect((second as S3ServiceException).$metadata.httpStatusCode).toBe(412);
    const kept = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await kept.Body?.transformToString()).toBe("first");
    // The shared helper turns the 412 into `false`.
    expect(await putIfAbsent(s3, bucket, key, "third")).toBe(false);
    expect(await putIfAbsent(s3, bucket, `${prefix}other.json`, "x")).toBe(true);
  });

  it("publishes an ObjectCreated event shaped like an S3 event record to Kafka after a PUT", async () => {
    const kafka = new Kafka({
      clientId: "foundation-s3-events",
      brokers: config.kafka.brokers,
      logLevel: logLevel.ERROR,
    });
    const consumer = kafka.consumer({ groupId: `foundation-events-${randomUUID().slice(0, 8)}` });
    const key = `${prefix}notified file.csv`;
    await consumer.connect();
    await consumer.subscribe({ topic: S3_EVENTS_TOPIC, fromBeginning: false });
    const arrived = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no S3 event within 60 s")), 60_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const event = JSON.parse(message.value?.toString() ?? "{}") as {
              Records?: Record<string, unknown>[];
            };
            const record = event.Records?.[0] as { s3?: { object?: { key?: string } } } | undefined;
            if (decodeURIComponent(record?.s3?.object?.key?.replace(/\+/g, " ") ?? "") === key) {
              clearTimeout(timer);
              resolve(record as Record<string, unknown>);
            }
          },
        })
        .catch(reject);
    });
    // The group must own its partition before the PUT, or a `latest` start could skip the event.
    await new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await putBytes(s3, bucket, key, "time,down\n", "text/csv");
    const record = (await arrived) as {
      eventSource: string;
      eventName: string;
      s3: { bucket: { name: string }; object: { key: string; size: number } };
    };
    await consumer.disconnect();
    expect(record.eventSource).toBe("minio:s3");
    expect(record.eventName).toBe("s3:ObjectCreated:Put");
    expect(record.s3.bucket.name).toBe(bucket);
    expect(record.s3.object.size).toBe(10);
  });
});
