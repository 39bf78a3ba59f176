/** What every stage needs: settings, an S3 client, a connected Kafka producer and a logger. */
import { AsyncLocalStorage } from "node:async_hooks";
import type { S3Client } from "@aws-sdk/client-s3";
import { Partitioners, type Producer } from "kafkajs";
import { type CommonConfig, loadCommonConfig } from "./config.ts";
import { createKafka } from "./kafka.ts";
import { createLogger, type Logger } from "./log.ts";
import { createS3Client } from "./s3.ts";

export interface StageContext {
  config: CommonConfig;
  s3: S3Client;
  producer: Producer;
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

/** Builds a context with a connected idempotent producer (close it with `closeStageContext`). */
export async function createStageContext(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = createLogger(service),
): Promise<StageContext> {
  const config = loadCommonConfig(env);
  const kafka = await createKafka(config.kafka, `${config.kafka.clientId}-${service}`);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    // The partitioner kafkajs uses by default since 2.0, named so it does not warn about the change.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  return { config, s3: createS3Client(config.storage), producer, logger, env };
}

export async function closeStageContext(ctx: StageContext): Promise<void> {
  await ctx.producer.disconnect();
  ctx.s3.destroy();
}

/**
 * The local runtime runs every function in its one process: during an invocation it hosts, the
 * handlers share its context (each with its own logger) and its consumer groups carry its suffix.
 */
export interface StageHost {
  ctx: StageContext;
  /** Appended to the manifest's consumer groups ("" for none). */
  groupSuffix: string;
  /** The identifiers the host is scoped to (its scheduled ticks look at these only). */
  accepts?: (identifier: string) => boolean;
}

const hosts = new AsyncLocalStorage<StageHost>();

/** Runs one handler invocation `fn` hosted by `host`. */
export function runHosted<T>(host: StageHost, fn: () => Promise<T>): Promise<T> {
  return hosts.run(host, fn);
}

/** The host of the invocation running now, if the local runtime started it. */
export function currentHost(): StageHost | undefined {
  return hosts.getStore();
}

/**
 * One context per Lambda execution environment, created on first use (cold start); inside a hosted
 * invocation, the host's context with this function's logger.
 */
export function lazyStageContext(service: string, logger: Logger): () => Promise<StageContext> {
  let pending: Promise<StageContext> | undefined;
  const hosted = new WeakMap<StageContext, StageContext>();
  return () => {
    const host = hosts.getStore();
    if (host) {
      const ctx = hosted.get(host.ctx) ?? { ...host.ctx, logger };
      hosted.set(host.ctx, ctx);
      return Promise.resolve(ctx);
    }
    pending ??= createStageContext(service, process.env, logger).catch((error) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
