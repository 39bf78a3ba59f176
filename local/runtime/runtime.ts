/**
 * The local runtime: drives the manifest's functions against real Kafka and MinIO the way AWS would.
 * Kafka-triggered functions get a consumer group each; S3-triggered ones consume MinIO's bucket
 * notifications from `s3-events` (one group per function, like one notification per function);
 * scheduled ones (the sweeper) run on a timer, as EventBridge would run them; trainers run as local
 * processes.
 */
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Admin, Kafka } from "kafkajs";
import type { z } from "zod";
import { closeStageContext, createStageContext, type StageContext } from "../../functions/common/context.ts";
import { dlqTopic, parseContract } from "../../functions/common/contracts.ts";
import { createKafka } from "../../functions/common/kafka.ts";
import { type ObjectRef, parseS3Event } from "../../functions/common/s3-event.ts";
import { loadSettings } from "../../functions/common/settings.ts";
import { FUNCTIONS, type FunctionSpec, type ScheduleTrigger } from "../../functions/manifest.ts";
import { registerTrainerLauncher } from "../../functions/train-dispatch/backends.ts";
import { repoRoot } from "../paths.ts";
import {
  type ConsumerSpec,
  type Decoded,
  type Outcome,
  type RunningConsumer,
  startConsumer,
} from "./consumer.ts";
import { LocalTrainerPool, type TrainerEvent } from "./local-trainer.ts";
import { identifierOfObject, matchesS3Trigger } from "./s3-routing.ts";
import { type SqsSource, sqsSourceQueue, startSqsSource } from "./sqs-source.ts";
import { type StageMetrics, stageMetrics } from "./stage-metrics.ts";

export const S3_EVENTS_TOPIC = "s3-events";

export interface RuntimeOptions {
  env?: NodeJS.ProcessEnv;
  /** Appended to every consumer group (isolates a test or CLI run from other runtimes). */
  groupSuffix?: string;
  startAt?: "committed" | "latest";
  /** Only messages this accepts are handled (others are skipped). */
  accept?: (text: string, identifier: string | null) => boolean;
  /** Names of the functions to run (default: all of the manifest). */
  functions?: string[];
  /** Python trainer processes; null to run no trainers here. */
  trainer?: { python: string; concurrency: number } | null;
}

export interface Runtime {
  ctx: StageContext;
  events: EventEmitter;
  trainers: LocalTrainerPool | null;
  stop(): Promise<void>;
}

interface FunctionModule {
  handle: (input: unknown, ctx: StageContext) => Promise<unknown>;
  schema?: z.ZodType;
}

async function loadModule(spec: FunctionSpec): Promise<FunctionModule> {
  const mod = (await import(pathToFileURL(join(repoRoot, spec.entry)).href)) as Partial<FunctionModule>;
  if (typeof mod.handle !== "function") throw new Error(`${spec.entry} does not export 'handle'`);
  if (spec.trigger.kind === "kafka" && !mod.schema) throw new Error(`${spec.entry} does not export 'schema'`);
  return mod as FunctionModule;
}

function kafkaDecoder(topic: string, schema: z.ZodType): (text: string) => Decoded<unknown> {
  return (text) => {
    const message = parseContract(schema, `${topic} message`, JSON.parse(text)) as { identifier?: string };
    return {
      inputs: [message],
      identifier: typeof message.identifier === "string" ? message.identifier : null,
    };
  };
}

function s3Decoder(spec: FunctionSpec, ctx: StageContext): (text: string) => Decoded<ObjectRef> {
  const trigger = spec.trigger;
  if (trigger.kind !== "s3") throw new Error(`${spec.name} is not S3-triggered`);
  return (text) => {
    const refs = parseS3Event(JSON.parse(text)).filter((ref) =>
      matchesS3Trigger(trigger, ref, ctx.config.storage),
    );
    return { inputs: refs, identifier: refs[0] ? identifierOfObject(refs[0], ctx.config.storage) : null };
  };
}

/**
 * A scheduled function on a timer (the next tick starts after the previous one ends). `accepts` scopes
 * the tick to the runtime's identifiers. Each tick is reported as an Outcome on the "schedule" event.
 */
function startTimer(
  spec: FunctionSpec & { trigger: ScheduleTrigger },
  env: NodeJS.ProcessEnv,
  handle: (input: unknown) => Promise<unknown>,
  accept: RuntimeOptions["accept"],
  onOutcome: (outcome: Outcome<unknown>) => void,
): { stop(): Promise<void> } {
  const seconds = Number(loadSettings(spec.settings, env)[spec.trigger.localInterval.setting]);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = async () => {
    const input = {
      time: new Date().toISOString(),
      ...(accept ? { accepts: (id: string) => accept("", id) } : {}),
    };
    try {
      onOutcome({ function: spec.name, ok: true, input, result: await handle(input), attempts: 1 });
    } catch (error) {
      onOutcome({
        function: spec.name,
        ok: false,
        input,
        error: (error as Error).message,
        attempts: 1,
        dlq: false,
      });
    }
    if (!stopped) timer = setTimeout(() => (running = tick()), seconds * 1000);
  };
  timer = setTimeout(() => (running = tick()), seconds * 1000);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

async function ensureTopics(admin: Admin, topics: string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length)
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: 1 })),
      waitForLeaders: true,
    });
}

export async function startRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const env = options.env ?? process.env;
  const ctx = await createStageContext("local-runtime", env);
  const events = new EventEmitter();
  const kafka: Kafka = await createKafka(ctx.config.kafka, `${ctx.config.kafka.clientId}-local-runtime`);
  const admin = kafka.admin();
  await admin.connect();
  const specs = FUNCTIONS.filter((f) => !options.functions || options.functions.includes(f.name));
  const consumers: RunningConsumer[] = [];
  const timers: { stop(): Promise<void> }[] = [];
  let trainers: LocalTrainerPool | null = null;
  // LocalStack mode: S3 notifications arrive on SQS, stage metrics go to CloudWatch.
  const queueUrl = sqsSourceQueue(env);
  let sqsSource: SqsSource | null = null;
  const metrics: StageMetrics | null = queueUrl
    ? stageMetrics(specs, env, (e) => ctx.logger.error("emf_forward_failed", { error: e.message }))
    : null;
  try {
    if (options.trainer) {
      trainers = new LocalTrainerPool({
        python: options.trainer.python,
        concurrency: options.trainer.concurrency,
        s3: ctx.s3,
      });
      trainers.on("trainer", (e: TrainerEvent) => events.emit("trainer", e));
      registerTrainerLauncher("local", trainers);
    }
    const sourceTopics = [
      ...new Set(
        specs.flatMap((s) =>
          s.trigger.kind === "kafka" ? [s.trigger.topic] : s.trigger.kind === "s3" ? [S3_EVENTS_TOPIC] : [],
        ),
      ),
    ];
    await ensureTopics(admin, sourceTopics.map(dlqTopic));
    const suffix = options.groupSuffix ? `.${options.groupSuffix}` : "";
    const onOutcome = (outcome: Outcome<unknown>) => {
      metrics?.record(outcome);
      events.emit("outcome", outcome);
    };
    const modules = await Promise.all(specs.map(loadModule));
    const handles = specs.map((spec, i) => {
      const mod = modules[i] as FunctionModule;
      // Each function logs as itself (its own `service`), as its Lambda's Powertools logger does.
      const fnCtx: StageContext = { ...ctx, logger: ctx.logger.createChild({ serviceName: spec.name }) };
      return (input: unknown) => mod.handle(input, fnCtx);
    });
    const eventDriven = specs.flatMap((spec, i) => (spec.trigger.kind === "schedule" ? [] : [i]));
    const consumerSpecs = eventDriven.map((i): ConsumerSpec<unknown> => {
      const spec = specs[i] as FunctionSpec;
      const mod = modules[i] as FunctionModule;
      const handle = handles[i] as (input: unknown) => Promise<unknown>;
      return spec.trigger.kind === "kafka"
        ? {
            functionName: spec.name,
            topic: spec.trigger.topic,
            groupId: `${spec.trigger.consumerGroup}${suffix}`,
            batchSize: spec.trigger.batchSize,
            maxAttempts: spec.trigger.maxAttempts,
            startAt: options.startAt ?? "committed",
            decode: kafkaDecoder(spec.trigger.topic, mod.schema as z.ZodType),
            handle,
            accept: options.accept,
            onOutcome,
          }
        : {
            functionName: spec.name,
            topic: S3_EVENTS_TOPIC,
            groupId: `flts-local-s3-${spec.name}${suffix}`,
            batchSize: 10,
            maxAttempts: 3,
            startAt: options.startAt ?? "committed",
            decode: s3Decoder(spec, ctx) as (text: string) => Decoded<unknown>,
            handle,
            accept: options.accept,
            onOutcome,
          };
    });
    // Start (and join) every group at once: a new group waits out the broker's initial rebalance delay.
    const started = await Promise.allSettled(
      consumerSpecs.map((c) => startConsumer(kafka, admin, ctx.producer, ctx.logger, c)),
    );
    for (const s of started) if (s.status === "fulfilled") consumers.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    await Promise.all(consumers.map((c) => c.joined));
    specs.forEach((spec, i) => {
      if (spec.trigger.kind === "schedule")
        timers.push(
          startTimer(
            spec as FunctionSpec & { trigger: ScheduleTrigger },
            env,
            handles[i] as (input: unknown) => Promise<unknown>,
            options.accept,
            // Not an "outcome" (no message was consumed): ticks are reported on their own channel.
            (tick) => {
              if (!tick.ok)
                ctx.logger.error("schedule_tick_failed", { function: spec.name, error: tick.error });
              events.emit("schedule", tick);
            },
          ),
        );
    });
    if (queueUrl && specs.some((s) => s.trigger.kind === "s3"))
      sqsSource = startSqsSource({
        queueUrl,
        region: ctx.config.storage.region,
        topic: S3_EVENTS_TOPIC,
        producer: ctx.producer,
        logger: ctx.logger,
      });
  } catch (error) {
    await Promise.allSettled(timers.map((t) => t.stop()));
    await sqsSource?.stop();
    await Promise.allSettled(consumers.map((c) => c.stop()));
    await trainers?.stop();
    await admin.disconnect();
    await closeStageContext(ctx);
    throw error;
  }
  ctx.logger.info("local_runtime_started", {
    functions: specs.map((s) => s.name),
    group_suffix: options.groupSuffix ?? null,
  });
  return {
    ctx,
    events,
    trainers,
    stop: async () => {
      await Promise.allSettled(timers.map((t) => t.stop()));
      await sqsSource?.stop();
      await Promise.allSettled(consumers.map((c) => c.stop()));
      await metrics?.drain();
      await trainers?.stop();
      await admin.disconnect();
      await closeStageContext(ctx);
    },
  };
}
