/**
 * An MLflow tracking server, natively from PyPI, as an opt-in local service:
 * `npm run local:up -- --mlflow` or FLTS_MLFLOW=1. SQLite backend under `.flts/mlflow/`, artifacts
 * proxied by the server (`--serve-artifacts`) into the MinIO bucket `mlflow-artifacts`. While it runs,
 * localServiceEnv gives the stages and trainers MLFLOW_TRACKING_URI. Nothing depends on it: S3 stays
 * the record.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ensureMlflowVenv, mlflowPinnedVersion } from "../mlflow/install.ts";
import { stateDir } from "../paths.ts";
import { type LocalServiceSettings, mlflowUrl } from "./env.ts";
import { minioHealthy } from "./minio.ts";
import {
  portOpen,
  runningPid,
  serviceLog,
  startDetached,
  stopService,
  waitFor,
  withLock,
} from "./processes.ts";
import { ensurePlainBucket } from "./provision.ts";

export const MLFLOW = "mlflow";
export const MLFLOW_BUCKET = "mlflow-artifacts";
export const mlflowDir = join(stateDir, "mlflow");
export const mlflowLog = serviceLog(MLFLOW);

/** `--mlflow` on the command line or FLTS_MLFLOW=1. */
export function mlflowRequested(argv = process.argv, env = process.env): boolean {
  const flag = env.FLTS_MLFLOW;
  if (flag !== undefined && flag !== "" && !["0", "1", "true", "false"].includes(flag))
    throw new Error(`FLTS_MLFLOW must be 1 or 0, got '${flag}'`);
  return argv.includes("--mlflow") || flag === "1" || flag === "true";
}

/** `GET /health` answers `OK`. */
export async function mlflowHealthy(settings: LocalServiceSettings): Promise<boolean> {
  if (!(await portOpen(settings.mlflowHost, settings.mlflowPort))) return false;
  try {
    const response = await fetch(`${mlflowUrl(settings)}/health`, { signal: AbortSignal.timeout(2000) });
    return response.ok && (await response.text()).trim() === "OK";
  } catch {
    return false;
  }
}

async function serverVersion(settings: LocalServiceSettings): Promise<string | null> {
  try {
    const response = await fetch(`${mlflowUrl(settings)}/version`, { signal: AbortSignal.timeout(2000) });
    return response.ok ? (await response.text()).trim() : null;
  } catch {
    return null;
  }
}

function serverArgs(settings: LocalServiceSettings): string[] {
  return [
    "-m",
    "mlflow",
    "server",
    "--host",
    settings.mlflowHost,
    "--port",
    String(settings.mlflowPort),
    "--backend-store-uri",
    `sqlite:///${join(mlflowDir, "mlflow.db")}`,
    "--serve-artifacts",
    "--artifacts-destination",
    `s3://${MLFLOW_BUCKET}`,
    "--workers",
    "1",
  ];
}

/** Starts the server (MinIO must be up: it holds the artifacts); idempotent; true when it started one. */
export function upMlflow(settings: LocalServiceSettings, log: (line: string) => void): Promise<boolean> {
  return withLock(MLFLOW, async () => {
    if (runningPid(MLFLOW) !== null && (await mlflowHealthy(settings))) return false;
    if (runningPid(MLFLOW) === null && (await portOpen(settings.mlflowHost, settings.mlflowPort))) {
      throw new Error(
        `port ${settings.mlflowPort} is taken by a process FLTS did not start; stop it or set FLTS_MLFLOW_PORT`,
      );
    }
    if (!(await minioHealthy(settings)))
      throw new Error(
        "MLflow keeps its artifacts in MinIO, which does not answer: run `npm run local:up` first",
      );
    if (await ensurePlainBucket(settings, MLFLOW_BUCKET)) log(`[mlflow] created bucket ${MLFLOW_BUCKET}`);
    const python = await ensureMlflowVenv(log);
    if (runningPid(MLFLOW) === null) {
      mkdirSync(mlflowDir, { recursive: true });
      log(`[mlflow] starting MLflow ${mlflowPinnedVersion()} on ${mlflowUrl(settings)}`);
      startDetached({
        service: MLFLOW,
        command: python,
        args: serverArgs(settings),
        cwd: mlflowDir,
        env: {
          MLFLOW_S3_ENDPOINT_URL: `http://${settings.minioHost}:${settings.minioPort}`,
          AWS_ACCESS_KEY_ID: settings.minioUser,
          AWS_SECRET_ACCESS_KEY: settings.minioPassword,
          AWS_DEFAULT_REGION: settings.region,
        },
      });
    }
    // The first start creates the SQLite schema (migrations): tens of seconds on a busy machine.
    await waitFor("MLflow to answer /health", () => mlflowHealthy(settings), 240_000, ` (see ${mlflowLog})`);
    log(`[mlflow] healthy: ${mlflowUrl(settings)}`);
    return true;
  });
}

export function stopMlflow(): Promise<boolean> {
  return stopService(MLFLOW);
}

export async function mlflowStatus(settings: LocalServiceSettings, requested: boolean) {
  const pid = runningPid(MLFLOW);
  const version = (pid ? await serverVersion(settings) : null) ?? mlflowPinnedVersion();
  return {
    service: MLFLOW,
    state: pid ? ("running" as const) : ("stopped" as const),
    pid,
    address: mlflowUrl(settings),
    version: `mlflow ${version} (SQLite .flts/mlflow, artifacts s3://${MLFLOW_BUCKET})`,
    health: pid
      ? (await mlflowHealthy(settings))
        ? ("healthy" as const)
        : ("unhealthy" as const)
      : ("-" as const),
    optional: !requested,
  };
}
