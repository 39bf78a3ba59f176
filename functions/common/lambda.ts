/**
 * Thin Lambda adapters (Middy + Powertools) over the plain stage functions: S3 notifications and
 * MSK batches are decoded and validated here; the stage logic never sees the event envelope.
 */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { z } from "zod";
import { functionByName } from "../manifest.ts";
import { lazyStageContext, type StageContext } from "./context.ts";
import { DlqEnvelope, dlqTopic, isPermanent, parseContract } from "./contracts.ts";
import { createLogger } from "./log.ts";
import { type ObjectRef, parseS3Event } from "./s3-event.ts";

/** Logger, EMF metrics and X-Ray tracer of one function (tracing is inert outside Lambda). */
function powertools(service: string) {
  const logger = createLogger(service);
  const metrics = new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "FLTS",
    serviceName: service,
  });
  const tracer = new Tracer({ serviceName: service });
  return { logger, metrics, tracer };
}

export type S3Handle<R> = (ref: ObjectRef, ctx: StageContext) => Promise<R>;
export type MessageHandle<S extends z.ZodType, R> = (message: z.output<S>, ctx: StageContext) => Promise<R>;

/** A Lambda handler for S3 notifications: every ObjectCreated record, one after another. */
export function s3Lambda<R>(service: string, handle: S3Handle<R>) {
  const { logger, metrics, tracer } = powertools(service);
  const context = lazyStageContext(service, logger);
  return middy(async (event: unknown): Promise<R[]> => {
    const ctx = await context();
    const results: R[] = [];
    for (const ref of parseS3Event(event)) {
      results.push(await handle(ref, ctx));
      metrics.addMetric("ObjectsProcessed", MetricUnit.Count, 1);
    }
    return results;
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/** A Lambda handler for a scheduled trigger (EventBridge): one call per tick. */
export function scheduleLambda<R>(
  service: string,
  handle: (event: unknown, ctx: StageContext) => Promise<R>,
) {
  const { logger, metrics, tracer } = powertools(service);
  const context = lazyStageContext(service, logger);
  return middy(async (event: unknown): Promise<R> => handle(event, await context()))
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

interface MskRecord {
  topic: string;
  partition: number;
  offset: number;
  key?: string | null;
  value?: string | null;
}

/** Decodes an MSK event (`records: {"topic-partition": [{value: base64}]}`) into text records. */
export function mskRecords(event: unknown): (MskRecord & { text: string; keyText: string | null })[] {
  const groups = (event as { records?: Record<string, MskRecord[]> })?.records;
  if (!groups || typeof groups !== "object") throw new Error("invalid MSK event: 'records' is missing");
  return Object.values(groups)
    .flat()
    .map((r) => ({
      ...r,
      text: r.value ? Buffer.from(r.value, "base64").toString("utf8") : "",
      keyText: r.key ? Buffer.from(r.key, "base64").toString("utf8") : null,
    }));
}

/**
 * A Lambda handler for the MSK topic of manifest function `service`. Invalid messages and permanent
 * failures go to `DLQ-<topic>` at once; any other error fails the batch so the event-source mapping
 * retries it.
 */
export function kafkaLambda<S extends z.ZodType, R>(service: string, schema: S, handle: MessageHandle<S, R>) {
  const { trigger } = functionByName(service);
  if (trigger.kind !== "kafka") throw new Error(`manifest function '${service}' is not triggered by Kafka`);
  const { consumerGroup } = trigger;
  const { logger, metrics, tracer } = powertools(service);
  const context = lazyStageContext(service, logger);
  return middy(async (event: unknown): Promise<R[]> => {
    const ctx = await context();
    const results: R[] = [];
    const toDlq = async (record: ReturnType<typeof mskRecords>[number], error: string) => {
      const envelope = parseContract(DlqEnvelope, "DLQ envelope", {
        source_topic: record.topic,
        partition: record.partition,
        offset: String(record.offset),
        key: record.keyText,
        value: record.text,
        consumer_group: consumerGroup,
        function: service,
        error,
        attempts: 1,
        failed_at: new Date().toISOString(),
      });
      await ctx.producer.send({
        topic: dlqTopic(record.topic),
        messages: [{ key: envelope.key, value: JSON.stringify(envelope) }],
      });
      metrics.addMetric("MessagesToDlq", MetricUnit.Count, 1);
      logger.error("dlq_published", { topic: record.topic, offset: record.offset, error });
    };
    for (const record of mskRecords(event)) {
      let message: z.output<S>;
      try {
        message = parseContract(schema, `${record.topic} message`, JSON.parse(record.text));
      } catch (error) {
        // Whatever the message names (an identifier or nothing), a message that fails validation is dead.
        await toDlq(record, `invalid message: ${(error as Error).message}`);
        continue;
      }
      try {
        results.push(await handle(message, ctx));
        metrics.addMetric("MessagesProcessed", MetricUnit.Count, 1);
      } catch (error) {
        if (!isPermanent(error)) throw error;
        await toDlq(record, (error as Error).message);
      }
    }
    return results;
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
