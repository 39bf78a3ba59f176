/**
 * Thin Lambda adapters (Middy + Powertools) over the plain stage functions: S3 notifications, MSK
 * batches and scheduled events are decoded (Powertools Parser) and validated here; the stage logic
 * never sees the event envelope. The local runtime invokes these same handlers.
 */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import { KafkaMskEventSchema } from "@aws-lambda-powertools/parser/schemas/kafka";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { z } from "zod";
import { PIPELINE_METRICS, PIPELINE_NAMESPACE } from "../../infra/metrics.ts";
import { functionByName } from "../manifest.ts";
import { currentHost, lazyStageContext, type StageContext } from "./context.ts";
import { describeIssues, isPermanent, parseContract } from "./contracts.ts";
import { type DeadRecord, publishToDlq } from "./dlq.ts";
import { createLogger, type Logger } from "./log.ts";
import { type ObjectRef, parseS3Event } from "./s3-event.ts";

/** The EMF metrics of one pipeline function (namespace POWERTOOLS_METRICS_NAMESPACE, else FLTS/Pipeline). */
export function pipelineMetrics(service: string, logger?: Logger): Metrics {
  return new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? PIPELINE_NAMESPACE,
    serviceName: service,
    // its warnings ("No application metrics to publish") as structured log lines, not bare console text
    ...(logger ? { logger } : {}),
  });
}

/** Logger, EMF metrics and X-Ray tracer of one function (tracing is inert outside Lambda). */
function powertools(service: string) {
  const logger = createLogger(service);
  const metrics = pipelineMetrics(service, logger);
  const tracer = new Tracer({ serviceName: service });
  return { logger, metrics, tracer };
}

/** The Middy chain every function runs in: the tracer's segment, the logger's context, EMF on return. */
function withPowertools<E, R>(
  { logger, metrics, tracer }: ReturnType<typeof powertools>,
  fn: (event: E) => Promise<R>,
) {
  return middy(fn)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

export type S3Handle<R> = (ref: ObjectRef, ctx: StageContext) => Promise<R>;
export type MessageHandle<S extends z.ZodType, R> = (message: z.output<S>, ctx: StageContext) => Promise<R>;

/** A Lambda handler for S3 notifications: every ObjectCreated record, one after another. */
export function s3Lambda<R>(service: string, handle: S3Handle<R>) {
  const tools = powertools(service);
  const context = lazyStageContext(service, tools.logger);
  return withPowertools(tools, async (event: unknown): Promise<R[]> => {
    const ctx = await context();
    const results: R[] = [];
    for (const ref of parseS3Event(event)) {
      results.push(await handle(ref, ctx));
      tools.metrics.addMetric(PIPELINE_METRICS.objectsProcessed, MetricUnit.Count, 1);
    }
    return results;
  });
}

class ScheduledEventError extends Error {}

/** One tick of a schedule: when, and which identifiers are in scope (all, unless the host scopes them). */
interface Tick {
  time: string;
  accepts?: (identifier: string) => boolean;
}

/** A Lambda handler for a scheduled trigger (an EventBridge scheduled event): one call per tick. */
export function scheduleLambda<R>(service: string, handle: (tick: Tick, ctx: StageContext) => Promise<R>) {
  const tools = powertools(service);
  const context = lazyStageContext(service, tools.logger);
  return withPowertools(tools, async (event: unknown): Promise<R> => {
    const parsed = EventBridgeSchema.safeParse(event);
    if (!parsed.success)
      throw new ScheduledEventError(`invalid scheduled event: ${describeIssues(parsed.error)}`);
    const accepts = currentHost()?.accepts;
    return handle({ time: parsed.data.time, ...(accepts ? { accepts } : {}) }, await context());
  });
}

class MskEventError extends Error {}

/** The records of an MSK event (Powertools Parser: shape checked, keys and values decoded from base64). */
function mskRecords(event: unknown): DeadRecord[] {
  const parsed = KafkaMskEventSchema.safeParse(event);
  if (!parsed.success) throw new MskEventError(`invalid MSK event: ${describeIssues(parsed.error)}`);
  return Object.values(parsed.data.records)
    .flat()
    .map((r) => ({
      topic: r.topic,
      partition: r.partition,
      offset: String(r.offset),
      key: r.key ?? null,
      value: r.value,
    }));
}

/**
 * What a Kafka handler did with each record of its batch, in order: handled (`message` as validated)
 * or sent to the DLQ (`message` null when it was invalid). Lambda ignores it; the local runtime reports it.
 */
export type RecordOutcome<R> = Pick<DeadRecord, "topic" | "partition" | "offset"> &
  ({ ok: true; message: unknown; result: R } | { ok: false; message: unknown; error: string });

/**
 * A Lambda handler for the MSK topic of manifest function `service`. Invalid messages and permanent
 * failures go to `DLQ-<topic>` at once; any other error fails the batch so the event-source mapping
 * retries it (and after its attempts sends the batch's records to the DLQ).
 */
export function kafkaLambda<S extends z.ZodType, R>(service: string, schema: S, handle: MessageHandle<S, R>) {
  const { trigger } = functionByName(service);
  if (trigger.kind !== "kafka") throw new Error(`manifest function '${service}' is not triggered by Kafka`);
  const tools = powertools(service);
  const { logger, metrics } = tools;
  const context = lazyStageContext(service, logger);
  return withPowertools(tools, async (event: unknown): Promise<RecordOutcome<R>[]> => {
    const ctx = await context();
    const consumerGroup = `${trigger.consumerGroup}${currentHost()?.groupSuffix ?? ""}`;
    const outcomes: RecordOutcome<R>[] = [];
    for (const record of mskRecords(event)) {
      const at = { topic: record.topic, partition: record.partition, offset: record.offset };
      const toDlq = async (message: unknown, error: string) => {
        await publishToDlq(ctx.producer, logger, record, {
          consumerGroup,
          functionName: service,
          error,
          attempts: 1,
        });
        metrics.addMetric(PIPELINE_METRICS.dlqPublished, MetricUnit.Count, 1);
        outcomes.push({ ...at, ok: false, message, error });
      };
      let message: z.output<S>;
      try {
        message = parseContract(schema, `${record.topic} message`, JSON.parse(record.value));
      } catch (error) {
        // Whatever the message names (an identifier or nothing), a message that fails validation is dead.
        await toDlq(null, `invalid message: ${(error as Error).message}`);
        continue;
      }
      try {
        outcomes.push({ ...at, ok: true, message, result: await handle(message, ctx) });
        metrics.addMetric(PIPELINE_METRICS.messagesProcessed, MetricUnit.Count, 1);
      } catch (error) {
        if (!isPermanent(error)) throw error;
        await toDlq(message, (error as Error).message);
      }
    }
    return outcomes;
  });
}
