/**
 * What the LocalStack deployment leaves for the stages: the data stack's outputs (written by
 * `cdklocal deploy --outputs-file`) and the S3 → SQS notification queue. Read synchronously, so the
 * storage environment can be built anywhere (local/services/env.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { describeIssues } from "../../functions/common/contracts.ts";
import { stateDir } from "../paths.ts";

/** The stack deployed to LocalStack (the `dev` environment of infra/flts.ts). */
export const DATA_STACK = "Flts-dev-Data";
/** LocalStack's default account (every access key that is not a 12-digit account id maps to it). */
export const LOCALSTACK_ACCOUNT = "000000000000";
/** Queue every deployed bucket sends its ObjectCreated notifications to. */
export const S3_EVENTS_QUEUE = "flts-s3-events";

export const localstackDir = join(stateDir, "localstack");
export const outputsFile = join(localstackDir, "outputs.json");

/** The data stack's bucket outputs (infra/stacks/data-stack.ts names them after the stages' variables). */
export const DataStackOutputs = z.object({
  RawBucket: z.string().min(3),
  ProcessedBucket: z.string().min(3),
  ArtifactsBucket: z.string().min(3),
  PromotionBucket: z.string().min(3),
  InferenceLogsBucket: z.string().min(3),
});
export type DataStackOutputs = z.infer<typeof DataStackOutputs>;

const OutputsFile = z.object({ [DATA_STACK]: DataStackOutputs });

export class NotDeployedError extends Error {}

/** The deployed stack's outputs; throws naming the file and the command when it is not deployed. */
export function readDataStackOutputs(file = outputsFile): DataStackOutputs {
  if (!existsSync(file))
    throw new NotDeployedError(
      `FLTS_STORAGE=localstack: ${DATA_STACK} is not deployed to LocalStack (no ${file}); run npm run local:up -- --localstack`,
    );
  const parsed = OutputsFile.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw new NotDeployedError(`${file}: ${describeIssues(parsed.error)}`);
  return parsed.data[DATA_STACK];
}

/** `InferenceLogsBucket` → `INFERENCE_LOGS_BUCKET`: the variable a stage reads (functions/common/config.ts). */
export function bucketEnvName(outputKey: string): string {
  return outputKey.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase();
}

export function bucketEnv(outputs: DataStackOutputs): Record<string, string> {
  return Object.fromEntries(Object.entries(outputs).map(([key, bucket]) => [bucketEnvName(key), bucket]));
}

export function queueUrl(endpoint: string): string {
  return `${endpoint}/${LOCALSTACK_ACCOUNT}/${S3_EVENTS_QUEUE}`;
}
