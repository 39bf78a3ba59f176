/** MinIO, built once with `go install` at a pinned version, serving the buckets locally. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, stateDir } from "../paths.ts";
import { requireTool } from "../prerequisites.ts";
import { type LocalServiceSettings, S3_EVENTS_TOPIC } from "./env.ts";
import { portOpen, runningPid, serviceLog, startDetached, waitFor } from "./processes.ts";
import { counting, type Progress, runTool } from "./tool.ts";

/** MinIO publishes no semver tags; this pseudo-version pins the release commit of 2026-02-12. */
export const MINIO_MODULE_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c";
/** Notification target id: bucket notifications name it as `arn:minio:sqs::FLTS:kafka`. */
export const MINIO_KAFKA_TARGET_ARN = "arn:minio:sqs::FLTS:kafka";

function binDir(): string {
  return join(cacheDir, "minio", MINIO_MODULE_VERSION);
}

export function minioBinary(): string {
  return join(binDir(), "minio");
}

/** Builds the MinIO server once; later calls find the binary in the cache. */
export async function installMinio(progress?: Progress): Promise<{ binary: string; cached: boolean }> {
  const binary = minioBinary();
  if (existsSync(binary)) return { binary, cached: true };
  requireTool("go");
  progress?.(`building MinIO ${MINIO_MODULE_VERSION} with go install (first run only, a few minutes)`);
  mkdirSync(binDir(), { recursive: true });
  await runTool({
    command: "go",
    args: ["install", `github.com/minio/minio@${MINIO_MODULE_VERSION}`],
    log: "minio-build.log",
    env: { ...process.env, GOBIN: binDir(), GOFLAGS: "-trimpath", CGO_ENABLED: "0" },
    onLine: counting(/^go: downloading /, (n) => `${n} Go modules downloaded, then compiling`, progress),
  });
  if (!existsSync(binary)) throw new Error(`go install of MinIO did not produce ${binary}`);
  return { binary, cached: false };
}

export async function minioHealthy(settings: LocalServiceSettings): Promise<boolean> {
  if (!(await portOpen(settings.minioHost, settings.minioPort))) return false;
  try {
    const response = await fetch(`http://${settings.minioHost}:${settings.minioPort}/minio/health/live`, {
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

export async function startMinio(settings: LocalServiceSettings, log: (line: string) => void): Promise<void> {
  if (runningPid("minio") !== null && (await minioHealthy(settings))) return;
  if (runningPid("minio") === null && (await portOpen(settings.minioHost, settings.minioPort))) {
    throw new Error(
      `port ${settings.minioPort} is taken by a process FLTS did not start; stop it or set FLTS_MINIO_PORT`,
    );
  }
  const { binary } = await installMinio(log);
  const dataDir = join(stateDir, "minio", "data");
  const queueDir = join(stateDir, "minio", "event-queue");
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(queueDir, { recursive: true });
  if (runningPid("minio") === null) {
    log(`[minio] starting MinIO on ${settings.minioHost}:${settings.minioPort}`);
    startDetached({
      service: "minio",
      command: binary,
      args: [
        "server",
        dataDir,
        "--address",
        `${settings.minioHost}:${settings.minioPort}`,
        "--console-address",
        `${settings.minioHost}:${settings.minioConsolePort}`,
      ],
      env: {
        MINIO_ROOT_USER: settings.minioUser,
        MINIO_ROOT_PASSWORD: settings.minioPassword,
        MINIO_UPDATE: "off",
        MINIO_BROWSER: "on",
        MINIO_NOTIFY_KAFKA_ENABLE_FLTS: "on",
        MINIO_NOTIFY_KAFKA_BROKERS_FLTS: `${settings.kafkaHost}:${settings.kafkaPort}`,
        MINIO_NOTIFY_KAFKA_TOPIC_FLTS: S3_EVENTS_TOPIC,
        // Events are queued on disk while Kafka is unreachable, so none is lost.
        MINIO_NOTIFY_KAFKA_QUEUE_DIR_FLTS: queueDir,
      },
    });
  }
  await waitFor("MinIO to answer", () => minioHealthy(settings), 60_000, ` (see ${serviceLog("minio")})`);
  log("[minio] healthy");
}

/** The version the running binary reports, with the pinned module version. */
export function minioVersion(): string {
  const binary = minioBinary();
  if (!existsSync(binary)) return `${MINIO_MODULE_VERSION} (not built)`;
  const out = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout;
  const runtime = /Runtime: (\S+)/.exec(out)?.[1] ?? "";
  return `github.com/minio/minio@${MINIO_MODULE_VERSION}${runtime ? ` (${runtime})` : ""}`;
}
