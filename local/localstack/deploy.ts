/**
 * The CDK data stack on LocalStack: `cdklocal bootstrap` once, `cdklocal deploy Flts-dev-Data` when it
 * is missing or its sources changed, then every deployed bucket's ObjectCreated events sent to one SQS
 * queue (the local runtime's S3 triggers read it: local/runtime/sqs-source.ts).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { PutBucketNotificationConfigurationCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { repoRoot, stateDir } from "../paths.ts";
import {
  DATA_STACK,
  LOCALSTACK_ACCOUNT,
  localstackDir,
  outputsFile,
  readDataStackOutputs,
  S3_EVENTS_QUEUE,
} from "./outputs.ts";

export const deployLog = join(stateDir, "logs", "localstack-deploy.log");
const deployedMarker = join(localstackDir, "deployed-sources");
const BOOTSTRAP_STACK = "CDKToolkit";
/** What the data stack is built from: a change of any redeploys it. */
const stackSources = ["infra/stacks/data-stack.ts", "infra/config.ts", "infra/flts.ts", "cdk.json"];

export interface AwsTarget {
  endpoint: string;
  region: string;
}

const credentials = { accessKeyId: "test", secretAccessKey: "test" };

function sourcesDigest(): string {
  const hash = createHash("sha256");
  for (const file of stackSources) hash.update(readFileSync(join(repoRoot, file)));
  return hash.digest("hex");
}

/** Stacks in a complete state, by name (CloudFormation's DescribeStacks). */
export async function deployedStacks(target: AwsTarget): Promise<string[]> {
  const cfn = new CloudFormationClient({ ...target, credentials });
  try {
    const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({}));
    return Stacks.filter(
      (s) => /_COMPLETE$/.test(s.StackStatus ?? "") && !/DELETE|ROLLBACK/.test(s.StackStatus ?? ""),
    )
      .map((s) => s.StackName ?? "")
      .filter(Boolean)
      .sort();
  } finally {
    cfn.destroy();
  }
}

function cdklocal(args: string[], target: AwsTarget): void {
  mkdirSync(join(stateDir, "logs"), { recursive: true });
  const out = openSync(deployLog, "a");
  try {
    const result = spawnSync(join(repoRoot, "node_modules", ".bin", "cdklocal"), args, {
      cwd: repoRoot,
      stdio: ["ignore", out, out],
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: target.endpoint,
        AWS_ENDPOINT_URL_S3: target.endpoint,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_REGION: target.region,
        AWS_DEFAULT_REGION: target.region,
        AWS_ENVAR_ALLOWLIST: "AWS_REGION,AWS_DEFAULT_REGION,AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY",
        CDK_DEFAULT_ACCOUNT: LOCALSTACK_ACCOUNT,
        CDK_DEFAULT_REGION: target.region,
      },
    });
    if (result.status !== 0)
      throw new Error(
        `cdklocal ${args.slice(0, 2).join(" ")} failed (exit ${result.status}); see ${deployLog}`,
      );
  } finally {
    closeSync(out);
  }
}

/** Points every deployed bucket's ObjectCreated events at the queue (created when missing). */
async function wireNotifications(target: AwsTarget): Promise<void> {
  const sqs = new SQSClient({ ...target, credentials });
  const s3 = new S3Client({ ...target, credentials, forcePathStyle: true });
  try {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: S3_EVENTS_QUEUE }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    const QueueArn = Attributes?.QueueArn;
    if (!QueueArn) throw new Error(`LocalStack returned no ARN for queue ${S3_EVENTS_QUEUE}`);
    for (const bucket of Object.values(readDataStackOutputs())) {
      await s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: bucket,
          NotificationConfiguration: {
            QueueConfigurations: [{ Id: "flts-s3-events", QueueArn, Events: ["s3:ObjectCreated:*"] }],
          },
        }),
      );
    }
  } finally {
    sqs.destroy();
    s3.destroy();
  }
}

export interface DeployResult {
  bootstrapped: boolean;
  deployed: boolean;
}

/** Bootstraps and deploys what is missing or changed; a second call with nothing changed does nothing. */
export async function deployDataStack(target: AwsTarget, log: (line: string) => void): Promise<DeployResult> {
  const stacks = await deployedStacks(target);
  const digest = sourcesDigest();
  const current =
    stacks.includes(DATA_STACK) &&
    existsSync(outputsFile) &&
    existsSync(deployedMarker) &&
    readFileSync(deployedMarker, "utf8") === digest;
  if (current) return { bootstrapped: false, deployed: false };
  mkdirSync(localstackDir, { recursive: true });
  const cdkOut = join(localstackDir, "cdk.out");
  const bootstrapped = !stacks.includes(BOOTSTRAP_STACK);
  if (bootstrapped) {
    log(`[localstack] cdklocal bootstrap aws://${LOCALSTACK_ACCOUNT}/${target.region} (log: ${deployLog})`);
    cdklocal(["bootstrap", `aws://${LOCALSTACK_ACCOUNT}/${target.region}`, "--output", cdkOut], target);
  }
  log(`[localstack] cdklocal deploy ${DATA_STACK} (log: ${deployLog})`);
  rmSync(deployedMarker, { force: true });
  cdklocal(
    [
      "deploy",
      DATA_STACK,
      "--exclusively",
      "--require-approval",
      "never",
      "--outputs-file",
      outputsFile,
      "--output",
      cdkOut,
      "--progress",
      "events",
    ],
    target,
  );
  await wireNotifications(target);
  writeFileSync(deployedMarker, digest);
  log(`[localstack] ${DATA_STACK} deployed; bucket notifications → SQS ${S3_EVENTS_QUEUE}`);
  return { bootstrapped, deployed: true };
}

/** Forgets the deployment (LocalStack community keeps no state across restarts). */
export function forgetDeployment(): void {
  rmSync(outputsFile, { force: true });
  rmSync(deployedMarker, { force: true });
}
