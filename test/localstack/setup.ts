/**
 * LocalStack for the tests of this folder: started (and the data stack deployed) when it is not up,
 * and stopped afterwards only when this setup started it. Call from beforeAll/afterAll.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { loadCommonConfig } from "../../functions/common/config.ts";
import { createS3Client } from "../../functions/common/s3.ts";
import { localServiceEnv, localServiceSettings, localstackEndpoint } from "../../local/services/env.ts";
import { stopLocalstack, upLocalstack } from "../../local/services/localstack.ts";
import { runningPid } from "../../local/services/processes.ts";

export interface LocalStackFixture {
  /** The stage environment of FLTS_STORAGE=localstack (bucket names from the deployed stack). */
  env: Record<string, string>;
  endpoint: string;
  region: string;
  stop(): Promise<void>;
}

export async function useLocalStack(): Promise<LocalStackFixture> {
  const settings = localServiceSettings();
  const startedHere = runningPid("localstack") === null;
  await upLocalstack(settings, (line) => process.stderr.write(`${line}\n`));
  return {
    env: { ...localServiceEnv(settings, "localstack") },
    endpoint: localstackEndpoint(settings),
    region: settings.region,
    stop: async () => {
      if (startedHere) await stopLocalstack();
    },
  };
}

export const credentials = { accessKeyId: "test", secretAccessKey: "test" };

export function localstackS3(fixture: LocalStackFixture) {
  return createS3Client(loadCommonConfig(fixture.env).storage);
}

export function localstackCloudWatch(fixture: LocalStackFixture): CloudWatchClient {
  return new CloudWatchClient({ endpoint: fixture.endpoint, region: fixture.region, credentials });
}

/** The last `rows` rows of a CSV as the body of POST /predict (`time` becomes ISO `ts`). */
export function lastRowsBody(csv: string, rows: number): { data: Record<string, (string | number)[]> } {
  const lines = csv.trim().split("\n");
  const header = (lines[0] ?? "").split(",").map((name) => (name === "time" ? "ts" : name));
  const data: Record<string, (string | number)[]> = Object.fromEntries(header.map((name) => [name, []]));
  for (const line of lines.slice(-rows))
    line.split(",").forEach((cell, i) => {
      const name = header[i] ?? "";
      data[name]?.push(name === "ts" ? `${cell.replace(" ", "T")}Z` : Number(cell));
    });
  return { data };
}
