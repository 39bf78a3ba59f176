/**
 * LocalStack community, natively from PyPI on Python 3.13 (no Docker), as an opt-in third service:
 * `npm run local:up -- --localstack` or FLTS_LOCALSTACK=1 (FLTS_STORAGE=localstack implies it).
 * Installs into a cached venv, starts `localstack.runtime.main` detached on 127.0.0.1, waits for
 * `/_localstack/health` and deploys the CDK data stack with cdklocal.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { deployDataStack, deployedStacks, forgetDeployment } from "../localstack/deploy.ts";
import { ensureLocalstackVenv, localstackPinnedVersion } from "../localstack/install.ts";
import { localstackDir } from "../localstack/outputs.ts";
import { stateDir } from "../paths.ts";
import { type LocalServiceSettings, localstackEndpoint, storageMode } from "./env.ts";
import { portOpen, runningPid, startDetached, stopService, waitFor, withLock } from "./processes.ts";

export const LOCALSTACK = "localstack";
/** What FLTS uses of LocalStack community (Lambda, MSK, ECS, ECR, API Gateway v2 and ELBv2 are not in it). */
export const LOCALSTACK_SERVICES = ["s3", "sqs", "sts", "iam", "ssm", "cloudwatch", "logs", "cloudformation"];
export const localstackLog = join(stateDir, "logs", "localstack.log");

/** `--localstack` on the command line, FLTS_LOCALSTACK=1, or LocalStack storage. */
export function localstackRequested(argv = process.argv, env = process.env): boolean {
  const flag = env.FLTS_LOCALSTACK;
  if (flag !== undefined && flag !== "" && !["0", "1", "true", "false"].includes(flag))
    throw new Error(`FLTS_LOCALSTACK must be 1 or 0, got '${flag}'`);
  return (
    argv.includes("--localstack") || flag === "1" || flag === "true" || storageMode(env) === "localstack"
  );
}

const Health = z.looseObject({
  services: z.record(z.string(), z.string()),
  edition: z.string().optional(),
  version: z.string().optional(),
});
type Health = z.infer<typeof Health>;

export async function localstackHealth(settings: LocalServiceSettings): Promise<Health | null> {
  if (!(await portOpen(settings.localstackHost, settings.localstackPort))) return null;
  try {
    const response = await fetch(`${localstackEndpoint(settings)}/_localstack/health`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) return null;
    const health = Health.safeParse(await response.json());
    return health.success ? health.data : null;
  } catch {
    return null;
  }
}

/** Every service FLTS uses is available or running. */
function usable(health: Health | null): boolean {
  return (
    health !== null &&
    LOCALSTACK_SERVICES.every((s) => ["available", "running"].includes(health.services[s] ?? ""))
  );
}

export async function localstackHealthy(settings: LocalServiceSettings): Promise<boolean> {
  return usable(await localstackHealth(settings));
}

function target(settings: LocalServiceSettings) {
  return { endpoint: localstackEndpoint(settings), region: settings.region };
}

async function startLocalstack(settings: LocalServiceSettings, log: (line: string) => void): Promise<void> {
  if (runningPid(LOCALSTACK) !== null && (await localstackHealthy(settings))) return;
  if (runningPid(LOCALSTACK) === null && (await portOpen(settings.localstackHost, settings.localstackPort))) {
    throw new Error(
      `port ${settings.localstackPort} is taken by a process FLTS did not start; stop it or set FLTS_LOCALSTACK_PORT`,
    );
  }
  const python = await ensureLocalstackVenv(log);
  if (runningPid(LOCALSTACK) === null) {
    // A fresh LocalStack has none of the resources an earlier one had.
    forgetDeployment();
    const root = join(localstackDir, "filesystem");
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    const address = `${settings.localstackHost}:${settings.localstackPort}`;
    log(`[localstack] starting LocalStack ${localstackPinnedVersion()} on ${address}`);
    startDetached({
      service: LOCALSTACK,
      command: python,
      args: ["-m", "localstack.runtime.main"],
      cwd: localstackDir,
      env: {
        GATEWAY_LISTEN: address,
        // The default host name does not resolve on every machine.
        LOCALSTACK_HOST: address,
        // Some machines look like a container to LocalStack; it would then write into system folders.
        OVERRIDE_IN_DOCKER: "0",
        DNS_ADDRESS: "0",
        FILESYSTEM_ROOT: root,
        SQS_ENDPOINT_STRATEGY: "path",
        SERVICES: LOCALSTACK_SERVICES.join(","),
        DISABLE_EVENTS: "1",
        SKIP_SSL_CERT_DOWNLOAD: "1",
      },
    });
  }
  await waitFor(
    "LocalStack to be healthy",
    () => localstackHealthy(settings),
    120_000,
    ` (see ${localstackLog})`,
  );
  log("[localstack] healthy");
}

/** Starts LocalStack and deploys the data stack; idempotent (a second call changes nothing). */
export async function upLocalstack(
  settings: LocalServiceSettings,
  log: (line: string) => void,
): Promise<void> {
  await withLock(LOCALSTACK, async () => {
    await startLocalstack(settings, log);
    await deployDataStack(target(settings), log);
  });
}

export async function stopLocalstack(): Promise<boolean> {
  const stopped = await stopService(LOCALSTACK);
  if (stopped) forgetDeployment();
  return stopped;
}

export async function localstackStatus(settings: LocalServiceSettings) {
  const pid = runningPid(LOCALSTACK);
  const health = pid ? await localstackHealth(settings) : null;
  const stacks = health ? await deployedStacks(target(settings)).catch(() => []) : [];
  const version = `localstack-core ${health?.version ?? localstackPinnedVersion()} (${health?.edition && health.edition !== "unknown" ? health.edition : "community"})`;
  return {
    service: LOCALSTACK,
    state: pid ? ("running" as const) : ("stopped" as const),
    pid,
    address: localstackEndpoint(settings),
    version: `${version}; stacks: ${stacks.length ? stacks.join(", ") : "none"}`,
    health: pid ? (usable(health) ? ("healthy" as const) : ("unhealthy" as const)) : ("-" as const),
  };
}
