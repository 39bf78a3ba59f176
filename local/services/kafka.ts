/** Apache Kafka, single node in KRaft mode, from its Maven Central jars on the machine's Java. */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { cacheDir, repoRoot, stateDir } from "../paths.ts";
import { requireTool } from "../prerequisites.ts";
import type { LocalServiceSettings } from "./env.ts";
import { portOpen, runningPid, serviceLog, startDetached, waitFor } from "./processes.ts";
import { counting, type Progress, runTool } from "./tool.ts";

const pomFile = join(repoRoot, "local", "kafka", "pom.xml");

/** The broker version pinned in local/kafka/pom.xml. */
export function kafkaVersion(): string {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pomFile, "utf8"));
  if (!match?.[1]) throw new Error(`no <kafka.version> in ${pomFile}`);
  return match[1];
}

function libsDir(): string {
  return join(cacheDir, `kafka-${kafkaVersion()}`, "libs");
}

/** Resolves the broker jars with Maven once; later calls find them in the cache. */
export async function installKafka(progress?: Progress): Promise<{ libs: string; cached: boolean }> {
  const libs = libsDir();
  const marker = join(libs, ".complete");
  if (existsSync(marker)) return { libs, cached: true };
  requireTool("java");
  requireTool("mvn");
  progress?.(`resolving Apache Kafka ${kafkaVersion()} jars with Maven`);
  await runTool({
    command: "mvn",
    args: [
      "-B",
      "-f",
      pomFile,
      `-Dmaven.repo.local=${join(cacheDir, "m2")}`,
      "dependency:copy-dependencies",
      `-DoutputDirectory=${libs}`,
      "-DincludeScope=runtime",
    ],
    log: "kafka-install.log",
    onLine: counting(/^Downloaded from /, (n) => `${n} artifacts downloaded`, progress),
  });
  writeFileSync(marker, new Date().toISOString());
  return { libs, cached: false };
}

function kafkaDir(): string {
  return join(stateDir, "kafka");
}

function writeConfig(settings: LocalServiceSettings): { properties: string; log4j: string } {
  const dir = kafkaDir();
  mkdirSync(join(dir, "data"), { recursive: true });
  const properties = join(dir, "server.properties");
  const host = settings.kafkaHost;
  writeFileSync(
    properties,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@${host}:${settings.kafkaControllerPort}`,
      `listeners=PLAINTEXT://${host}:${settings.kafkaPort},CONTROLLER://${host}:${settings.kafkaControllerPort}`,
      `advertised.listeners=PLAINTEXT://${host}:${settings.kafkaPort}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      `log.dirs=${join(dir, "data")}`,
      "num.partitions=1",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=4",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "auto.create.topics.enable=true",
      "log.retention.hours=168",
      "",
    ].join("\n"),
  );
  const log4j = join(dir, "log4j.properties");
  writeFileSync(
    log4j,
    [
      "log4j.rootLogger=WARN, stdout",
      "log4j.logger.kafka.server.KafkaServer=INFO",
      "log4j.logger.kafka.server.KafkaRaftServer=INFO",
      "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
      "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
      "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
      "",
    ].join("\n"),
  );
  return { properties, log4j };
}

/** Formats the KRaft log directory on first start (a no-op once meta.properties exists). */
function formatStorage(libs: string, properties: string): void {
  if (existsSync(join(kafkaDir(), "data", "meta.properties"))) return;
  const clusterId = randomBytes(16).toString("base64url");
  const result = spawnSync(
    "java",
    ["-cp", `${libs}/*`, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", properties],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`kafka storage format failed: ${result.stderr || result.stdout}`);
}

export async function kafkaHealthy(settings: LocalServiceSettings): Promise<boolean> {
  if (!(await portOpen(settings.kafkaHost, settings.kafkaPort))) return false;
  const admin = new Kafka({
    clientId: "flts-local-health",
    brokers: [`${settings.kafkaHost}:${settings.kafkaPort}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafka(settings: LocalServiceSettings, log: (line: string) => void): Promise<void> {
  if (runningPid("kafka") !== null && (await kafkaHealthy(settings))) return;
  if (runningPid("kafka") === null && (await portOpen(settings.kafkaHost, settings.kafkaPort))) {
    throw new Error(
      `port ${settings.kafkaPort} is taken by a process FLTS did not start; stop it or set FLTS_KAFKA_PORT`,
    );
  }
  const { libs } = await installKafka(log);
  requireTool("java");
  const { properties, log4j } = writeConfig(settings);
  formatStorage(libs, properties);
  if (runningPid("kafka") === null) {
    log(
      `[kafka] starting Apache Kafka ${kafkaVersion()} (KRaft) on ${settings.kafkaHost}:${settings.kafkaPort}`,
    );
    startDetached({
      service: "kafka",
      command: "java",
      args: [
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        `-Dlog4j.configuration=file:${log4j}`,
        `-Dkafka.logs.dir=${kafkaDir()}`,
        "-cp",
        `${libs}/*`,
        "kafka.Kafka",
        properties,
      ],
    });
  }
  await waitFor(
    "Kafka to accept connections",
    () => kafkaHealthy(settings),
    120_000,
    ` (see ${serviceLog("kafka")})`,
  );
  log("[kafka] healthy");
}
