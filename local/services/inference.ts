/** The inference service left running in the background (by `npm run demo`), beside Kafka and MinIO. */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { repoRoot, stateDir } from "../paths.ts";
import { localServiceEnv } from "./env.ts";
import { runningPid, serviceLog, startDetached, stopService, waitFor } from "./processes.ts";

const SERVICE = "inference";
const stateFile = join(stateDir, "inference.json");

const InferenceState = z.object({ url: z.url(), identifier: z.string(), port: z.number().int() });
export type InferenceState = z.infer<typeof InferenceState>;

export function inferenceState(): InferenceState | null {
  if (!existsSync(stateFile)) return null;
  const parsed = InferenceState.safeParse(JSON.parse(readFileSync(stateFile, "utf8")));
  return parsed.success ? parsed.data : null;
}

export function inferencePid(): number | null {
  return runningPid(SERVICE);
}

export async function inferenceReady(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/**
 * (Re)starts `local/serve.ts` detached for `identifier` on 127.0.0.1:`port` and waits until /readyz
 * answers 200. Its output goes to `.flts/logs/inference.log`.
 */
export async function startInference(identifier: string, port: number): Promise<InferenceState> {
  await stopService(SERVICE);
  const url = `http://127.0.0.1:${port}`;
  const pid = startDetached({
    service: SERVICE,
    command: process.execPath,
    args: ["--import", "tsx", join(repoRoot, "local", "serve.ts")],
    cwd: repoRoot,
    env: {
      ...localServiceEnv(),
      PORT: String(port),
      HOST: "127.0.0.1",
      MODEL_IDENTIFIER: identifier,
    },
  });
  const state = { url, identifier, port };
  writeFileSync(stateFile, JSON.stringify(state));
  await waitFor(
    `the inference service to be ready at ${url}`,
    async () => {
      if (runningPid(SERVICE) !== pid)
        throw new Error(`the inference service exited (see ${serviceLog(SERVICE)})`);
      return inferenceReady(url);
    },
    120_000,
    ` (see ${serviceLog(SERVICE)})`,
  );
  return state;
}

export async function stopInference(): Promise<boolean> {
  rmSync(stateFile, { force: true });
  return stopService(SERVICE);
}
