/**
 * The local runtime: drives the manifest's functions against real Kafka and MinIO the way AWS would.
 * Kafka-triggered functions get a consumer group each; S3-triggered ones consume MinIO's bucket
 * notifications from `s3-events` (one group per function, like one notification per function);
 * scheduled ones (the sweeper) run on a timer, as EventBridge would run them; trainers run as local
 * processes.
 */
import { EventEmitter } from "node:events";
import type { Admin, Kafka } from "kafkajs";
import {
  closeStageContext,
  createStageContext,
  type StageContext,
  type StageHost,
} from "../../functions/common/context.ts";
import { dlqTopic } from "../../functions/common/contracts.ts";
import { createKafka } from "../../functions/common/kafka.ts";
import { loadSettings } from "../../functions/common/settings.ts";
import { FUNCTIONS, type FunctionSpec, type ScheduleTrigger } from "../../functions/manifest.ts";
import { registerTrainerLauncher } from "../../functions/train-dispatch/backends.ts";
import {
  type Accept,
  type ConsumerSpec,
  type Outcome,
  type RunningConsumer,
  startConsumer,
} from "./consumer.ts";
import type { Delivery } from "./delivery.ts";
import { scheduledEvent } from "./events.ts";
import { type LocalFunction, loadFunction } from "./invoke.ts";
import { LocalTrainerPool, type TrainerEvent } from "./local-trainer.ts";
import { mskBatches } from "./msk-batches.ts";
import { s3Notifications } from "./s3-notifications.ts";
import { type SqsSource, sqsSourceQueue, startSqsSource } from "./sqs-source.ts";
import { forwardStageMetrics, type StageMetrics } from "./stage-metrics.ts";

export const S3_EVENTS_TOPIC = "s3-events";

export interface RuntimeOptions {
  env?: NodeJS.ProcessEnv;
  /** Appended to every consumer group (isolates a test or CLI run from other runtimes). */
  groupSuffix?: string;
  startAt?: "committed" | "latest";
  /** Only messages this accepts are handled (others are skipped); scheduled ticks are scoped by it too. */
  accept?: Accept;
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

/**
 * A scheduled function on a timer (the next tick starts after the previous one ends), invoked with an
 * EventBridge scheduled event. Each tick is reported as an Outcome on the "schedule" event.
 */
function startTimer(
  fn: LocalFunction & { spec: FunctionSpec & { trigger: ScheduleTrigger } },
  env: NodeJS.ProcessEnv,
  onOutcome: (outcome: Outcome<unknown>) => void,
): { stop(): Promise<void> } {
  const { spec } = fn;
  const seconds = Number(loadSettings(spec.settings, env)[spec.trigger.localInterval.setting]);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = async () => {
    const input = scheduledEvent(spec.name);
    try {
      onOutcome({ function: spec.name, ok: true, input, result: await fn.invoke(input), attempts: 1 });
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
  // LocalStack mode: S3 notifications arrive on SQS, the functions' EMF metrics go to CloudWatch.
  const queueUrl = sqsSourceQueue(env);
  let sqsSource: SqsSource | null = null;
  const metrics: StageMetrics | null = queueUrl
    ? forwardStageMetrics(
        specs.map((s) => s.name),
        env,
        (e) => ctx.logger.error("emf_forward_failed", { error: e.message }),
      )
    : null;
  const stop = async () => {
    await Promise.allSettled(timers.map((t) => t.stop()));
    await sqsSource?.stop();
    await Promise.allSettled(consumers.map((c) => c.stop()));
    await metrics?.stop();
    await trainers?.stop();
    await admin.disconnect();
    await closeStageContext(ctx);
  };
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
    const { accept } = options;
    // Every invocation shares this process's context (one producer, one S3 client) and its scope.
    const host: StageHost = {
      ctx,
      groupSuffix: suffix,
      ...(accept ? { accepts: (id: string) => accept("", id) } : {}),
    };
    const functions = await Promise.all(specs.map((spec) => loadFunction(spec, host)));
    const onOutcome = (outcome: Outcome<unknown>) => events.emit("outcome", outcome);
    const startAt = options.startAt ?? "committed";
    const consumerSpecs = functions.flatMap((fn): ConsumerSpec[] => {
      const { spec } = fn;
      const delivery = (topic: string, groupId: string, maxAttempts: number): Delivery => ({
        functionName: spec.name,
        topic,
        groupId,
        maxAttempts,
        producer: ctx.producer,
        logger: ctx.logger,
        onOutcome,
      });
      if (spec.trigger.kind === "kafka") {
        const { topic, consumerGroup, batchSize, maxAttempts } = spec.trigger;
        const groupId = `${consumerGroup}${suffix}`;
        const handleBatch = mskBatches(fn, delivery(topic, groupId, maxAttempts), {
          brokers: ctx.config.kafka.brokers,
          ...(accept ? { accept } : {}),
        });
        return [{ topic, groupId, batchSize, startAt, handleBatch }];
      }
      if (spec.trigger.kind === "s3") {
        const groupId = `flts-local-s3-${spec.name}${suffix}`;
        const handleBatch = s3Notifications(
          fn,
          delivery(S3_EVENTS_TOPIC, groupId, spec.trigger.invoke.maxAttempts),
          { storage: ctx.config.storage, ...(accept ? { accept } : {}) },
        );
        return [{ topic: S3_EVENTS_TOPIC, groupId, batchSize: 10, startAt, handleBatch }];
      }
      return [];
    });
    // Start (and join) every group at once: a new group waits out the broker's initial rebalance delay.
    const started = await Promise.allSettled(consumerSpecs.map((c) => startConsumer(kafka, admin, c)));
    for (const s of started) if (s.status === "fulfilled") consumers.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    await Promise.all(consumers.map((c) => c.joined));
    for (const fn of functions)
      if (fn.spec.trigger.kind === "schedule")
        timers.push(
          startTimer(
            fn as LocalFunction & { spec: FunctionSpec & { trigger: ScheduleTrigger } },
            env,
            // Not an "outcome" (no message was consumed): ticks are reported on their own channel.
            (tick) => {
              if (!tick.ok)
                ctx.logger.error("schedule_tick_failed", { function: fn.spec.name, error: tick.error });
              events.emit("schedule", tick);
            },
          ),
        );
    if (queueUrl && specs.some((s) => s.trigger.kind === "s3"))
      sqsSource = startSqsSource({
        queueUrl,
        region: ctx.config.storage.region,
        topic: S3_EVENTS_TOPIC,
        producer: ctx.producer,
        logger: ctx.logger,
      });
  } catch (error) {
    await stop();
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
    stop,
  };
}
