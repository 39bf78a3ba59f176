/** Bringing the local Kafka and MinIO up, reporting on them and taking them down. */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "../paths.ts";
import { compose, dockerRequested } from "./docker.ts";
import { applyLocalServiceEnv, type LocalServiceSettings, localServiceSettings } from "./env.ts";
import { inferencePid, inferenceReady, inferenceState, stopInference } from "./inference.ts";
import { kafkaHealthy, kafkaVersion, startKafka } from "./kafka.ts";
import { localstackRequested, localstackStatus, stopLocalstack, upLocalstack } from "./localstack.ts";
import { minioHealthy, minioVersion, startMinio } from "./minio.ts";
import { mlflowRequested, mlflowStatus, stopMlflow, upMlflow } from "./mlflow.ts";
import { runningPid, stopService, withLock } from "./processes.ts";
import { ensureBuckets, ensureTopics } from "./provision.ts";

export type Log = (line: string) => void;
const stderr: Log = (line) => process.stderr.write(`${line}\n`);

export interface UpResult {
  alreadyRunning: boolean;
  createdTopics: string[];
  createdBuckets: string[];
}

const provisionedMarker = join(stateDir, "provisioned");
const dockerMarker = join(stateDir, "docker-compose");

function servicesRunning(): boolean {
  return existsSync(dockerMarker) || (runningPid("kafka") !== null && runningPid("minio") !== null);
}

async function allHealthy(settings: LocalServiceSettings): Promise<boolean> {
  return (
    existsSync(provisionedMarker) &&
    servicesRunning() &&
    (await kafkaHealthy(settings)) &&
    (await minioHealthy(settings))
  );
}

/**
 * Starts Kafka then MinIO (whose notifications need Kafka), then topics and buckets; then MLflow when
 * asked for (`--mlflow`, FLTS_MLFLOW=1). Idempotent.
 */
export async function up(log: Log = stderr): Promise<UpResult> {
  const result = await upKafkaAndMinio(log);
  if (mlflowRequested() && (await upMlflow(localServiceSettings(), log))) result.alreadyRunning = false;
  return result;
}

async function upKafkaAndMinio(log: Log): Promise<UpResult> {
  const settings = localServiceSettings();
  if (localstackRequested()) await upLocalstack(settings, log);
  if (await allHealthy(settings)) return { alreadyRunning: true, createdTopics: [], createdBuckets: [] };
  return withLock("services", async () => {
    if (await allHealthy(settings)) return { alreadyRunning: true, createdTopics: [], createdBuckets: [] };
    const docker = dockerRequested();
    if (docker) {
      log("[local] a Docker engine answers: starting Kafka and MinIO with local/docker-compose.yml");
      compose(["up", "-d", "--wait", "kafka", "minio"]);
      writeFileSync(dockerMarker, "compose");
    } else {
      await startKafka(settings, log);
    }
    const createdTopics = await ensureTopics(settings);
    if (createdTopics.length > 0) log(`[kafka] created topics: ${createdTopics.join(", ")}`);
    if (!docker) await startMinio(settings, log);
    const createdBuckets = await ensureBuckets(settings);
    if (createdBuckets.length > 0) log(`[minio] created buckets: ${createdBuckets.join(", ")}`);
    writeFileSync(provisionedMarker, new Date().toISOString());
    return { alreadyRunning: false, createdTopics, createdBuckets };
  });
}

/** For tests and CLIs: services up and `process.env` pointing at them. */
export async function ensureLocalServices(log: Log = stderr): Promise<UpResult> {
  const result = await up(log);
  applyLocalServiceEnv();
  return result;
}

/** Stops the inference service, MLflow, LocalStack, MinIO, then Kafka; returns the services it stopped. */
export async function down(): Promise<string[]> {
  const stopped: string[] = [];
  if (await stopInference()) stopped.push("inference");
  if (await stopMlflow()) stopped.push("mlflow");
  if (await stopLocalstack()) stopped.push("localstack");
  rmSync(provisionedMarker, { force: true });
  if (existsSync(dockerMarker)) {
    compose(["down"]);
    rmSync(dockerMarker, { force: true });
    return [...stopped, "kafka", "minio"];
  }
  for (const service of ["minio", "kafka"]) {
    if (await stopService(service)) stopped.push(service);
  }
  return stopped;
}

export interface ServiceStatus {
  service: string;
  state: "running" | "stopped";
  pid: number | null;
  address: string;
  version: string;
  health: "healthy" | "unhealthy" | "-";
  /** Not needed by the pipeline (shown, but a stopped one is not a failure of `local:status`). */
  optional?: boolean;
}

export async function status(): Promise<ServiceStatus[]> {
  const settings = localServiceSettings();
  const kafkaPid = runningPid("kafka");
  const minioPid = runningPid("minio");
  return [
    {
      service: "kafka",
      state: kafkaPid ? "running" : "stopped",
      pid: kafkaPid,
      address: `${settings.kafkaHost}:${settings.kafkaPort}`,
      version: `Apache Kafka ${kafkaVersion()} (KRaft)`,
      health: kafkaPid ? ((await kafkaHealthy(settings)) ? "healthy" : "unhealthy") : "-",
    },
    {
      service: "minio",
      state: minioPid ? "running" : "stopped",
      pid: minioPid,
      address: `http://${settings.minioHost}:${settings.minioPort} (console :${settings.minioConsolePort})`,
      version: minioVersion(),
      health: minioPid ? ((await minioHealthy(settings)) ? "healthy" : "unhealthy") : "-",
    },
    await inferenceStatus(),
    ...(runningPid("localstack") !== null || localstackRequested() ? [await localstackStatus(settings)] : []),
    ...(runningPid("mlflow") !== null || mlflowRequested()
      ? [await mlflowStatus(settings, mlflowRequested())]
      : []),
  ];
}

async function inferenceStatus(): Promise<ServiceStatus> {
  const pid = inferencePid();
  const state = inferenceState();
  return {
    service: "inference",
    state: pid ? "running" : "stopped",
    pid,
    address: state ? `${state.url} (identifier ${state.identifier})` : "-",
    version: "local/serve.ts",
    health: pid && state ? ((await inferenceReady(state.url)) ? "healthy" : "unhealthy") : "-",
    optional: true,
  };
}
