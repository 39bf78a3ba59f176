/** Shared settings for every TypeScript Lambda: bundled locally with esbuild (no Docker). */
import path from "node:path";
import { Duration } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";

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

export const DEFAULT_TIMEOUT = Duration.seconds(60);
