/** Shared settings for every Lambda: bundled locally with esbuild (no Docker); async-invoke failures. */
import path from "node:path";
import { Duration } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as destinations from "aws-cdk-lib/aws-lambda-destinations";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { AsyncInvoke } from "../../functions/manifest.ts";
import { acknowledge } from "../nag.ts";

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
/** Layers carry linux-x64 native binaries, so every function runs on x86_64. */
export const LAMBDA_ARCHITECTURE = lambda.Architecture.X86_64;

/** The repository root (where package.json and package-lock.json live): the CDK app's working directory. */
export function repoRoot(): string {
  return process.env.FLTS_REPO_ROOT ? path.resolve(process.env.FLTS_REPO_ROOT) : process.cwd();
}

export function bundlingOptions(externalModules: string[]): nodejs.BundlingOptions {
  return {
    forceDockerBundling: false,
    // CommonJS so that modules from layers resolve through NODE_PATH (/opt/nodejs/node_modules).
    format: nodejs.OutputFormat.CJS,
    target: "node24",
    minify: true,
    sourceMap: true,
    sourceMapMode: nodejs.SourceMapMode.INLINE,
    sourcesContent: false,
    // The AWS SDK is bundled at the pinned version instead of using the runtime's copy.
    externalModules,
    logLevel: nodejs.LogLevel.ERROR,
  };
}

export function functionLogGroup(scope: Construct, id: string, retentionDays: number): logs.LogGroup {
  return new logs.LogGroup(scope, id, { retention: retentionDays as logs.RetentionDays });
}

/**
 * Applies the manifest's async-invoke policy to `fn`: `maxAttempts` tries within `maxEventAgeHours`,
 * then the event lands in a new SQS queue `queueName` (returned).
 */
export function asyncFailureQueue(
  scope: Construct,
  fn: lambda.IFunction,
  queueName: string,
  invoke: AsyncInvoke,
  id = "FailureQueue",
): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    queueName,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(queue, [
    {
      id: "AwsSolutions-SQS3",
      reason: "This queue is itself the dead-letter destination of the function's async invocations.",
    },
  ]);
  fn.configureAsyncInvoke({
    retryAttempts: invoke.maxAttempts - 1,
    maxEventAge: Duration.hours(invoke.maxEventAgeHours),
    onFailure: new destinations.SqsDestination(queue),
  });
  return queue;
}
