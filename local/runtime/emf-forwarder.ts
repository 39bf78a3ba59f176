/**
 * LocalStack mode: EMF records (Powertools Metrics' JSON log lines) published to LocalStack CloudWatch
 * with PutMetricData, as CloudWatch Logs would extract them in AWS. `forwardEmfRecord` takes one
 * parsed log record; records without `_aws` are ignored, and outside LocalStack mode it does nothing.
 */
import {
  CloudWatchClient,
  type MetricDatum,
  PutMetricDataCommand,
  type StandardUnit,
} from "@aws-sdk/client-cloudwatch";
import { z } from "zod";
import { describeIssues } from "../../functions/common/contracts.ts";

const EmfDirective = z.object({
  Namespace: z.string().min(1),
  Dimensions: z.array(z.array(z.string().min(1))),
  Metrics: z.array(
    z.object({
      Name: z.string().min(1),
      Unit: z.string().optional(),
      StorageResolution: z.union([z.literal(1), z.literal(60)]).optional(),
    }),
  ),
});

export const EmfRecord = z.looseObject({
  _aws: z.object({ Timestamp: z.number().int().nonnegative(), CloudWatchMetrics: z.array(EmfDirective) }),
});
export type EmfRecord = z.infer<typeof EmfRecord>;

const ForwarderEnv = z.object({
  FLTS_CLOUDWATCH_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
});

export class EmfRecordError extends Error {}

/** The PutMetricData requests (one per namespace) an EMF record stands for. */
export function metricDataOf(record: EmfRecord): { namespace: string; data: MetricDatum[] }[] {
  const at = new Date(record._aws.Timestamp);
  return record._aws.CloudWatchMetrics.map((directive) => {
    const data: MetricDatum[] = [];
    const dimensionSets = directive.Dimensions.length ? directive.Dimensions : [[]];
    for (const metric of directive.Metrics) {
      const raw = record[metric.Name];
      const values = (Array.isArray(raw) ? raw : [raw]) as unknown[];
      if (!values.every((v) => typeof v === "number" && Number.isFinite(v)))
        throw new EmfRecordError(`EMF metric '${metric.Name}': value must be a number or numbers`);
      for (const set of dimensionSets) {
        data.push({
          MetricName: metric.Name,
          Timestamp: at,
          Values: values as number[],
          ...(metric.Unit ? { Unit: metric.Unit as StandardUnit } : {}),
          ...(metric.StorageResolution ? { StorageResolution: metric.StorageResolution } : {}),
          Dimensions: set.map((name) => {
            const value = record[name];
            if (typeof value !== "string" || value === "")
              throw new EmfRecordError(`EMF dimension '${name}': value must be a non-empty string`);
            return { Name: name, Value: value };
          }),
        });
      }
    }
    return { namespace: directive.Namespace, data };
  });
}

let client: CloudWatchClient | null = null;

function cloudWatch(env: NodeJS.ProcessEnv): CloudWatchClient | null {
  const parsed = ForwarderEnv.safeParse(env);
  if (!parsed.success) throw new EmfRecordError(`invalid environment: ${describeIssues(parsed.error)}`);
  const endpoint = parsed.data.FLTS_CLOUDWATCH_ENDPOINT;
  if (!endpoint) return null;
  client ??= new CloudWatchClient({
    endpoint,
    region: parsed.data.AWS_REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  return client;
}

/** Publishes the metrics of one parsed log record; returns how many data points it sent. */
export async function forwardEmfRecord(
  record: unknown,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (typeof record !== "object" || record === null || !("_aws" in record)) return 0;
  const cw = cloudWatch(env);
  if (!cw) return 0;
  const parsed = EmfRecord.safeParse(record);
  if (!parsed.success) throw new EmfRecordError(`invalid EMF record: ${describeIssues(parsed.error)}`);
  let sent = 0;
  for (const { namespace, data } of metricDataOf(parsed.data)) {
    if (data.length === 0) continue;
    await cw.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data }));
    sent += data.length;
  }
  return sent;
}
