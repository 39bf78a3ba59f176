/**
 * Deployment settings, read from CDK context (cdk.json, `-c key=value`). Nothing here looks anything
 * up in an AWS account, so `cdk synth` needs neither credentials nor network.
 */
import { MODEL_TYPES, type ModelType } from "../functions/common/contracts.ts";
import { bool, type ContextReader, list, num, str } from "./context.ts";

export type EnvName = "dev" | "prod";
export type MskMode = "serverless" | "provisioned" | "import";
/** Where a model type trains: a container-image Lambda, a Fargate task, or an ECS task on GPU instances. */
export type TrainerBackend = "lambda" | "ecs" | "ecs-gpu";
export const TRAINER_BACKENDS: readonly TrainerBackend[] = ["lambda", "ecs", "ecs-gpu"];

export interface ImportedNetwork {
  vpcId: string;
  availabilityZones: string[];
  privateSubnetIds: string[];
  /** Security group that may reach the brokers on 9098 (IAM listener). */
  kafkaSecurityGroupId: string;
}

export interface FltsConfig {
  envName: EnvName;
  /** Resource-name prefix, e.g. `flts-dev`. */
  prefix: string;
  /** Optional fixed account (account-agnostic when absent). */
  account?: string;
  /** Target region: context `region`, else CDK_DEFAULT_REGION, else us-east-1 (no lookup either way). */
  region: string;
  /** Zones of the created VPC: context `availabilityZones`, else `<region>a`, `<region>b`, ... */
  availabilityZones: string[];
  maxAzs: number;
  natGateways: number;
  msk: {
    mode: MskMode;
    /** For `import`: the existing cluster (IAM auth enabled) and its network. */
    clusterArn?: string;
    network?: ImportedNetwork;
    /** Provisioned only. */
    brokerInstanceType: string;
    brokerCount: number;
    kafkaVersion: string;
    topicPartitions: number;
    /** Lambda provisioned-mode pollers per event-source mapping (needed for retries and Kafka DLQs). */
    minPollers: number;
    maxPollers: number;
  };
  trainers: {
    backends: Record<ModelType, TrainerBackend>;
    lambdaMemoryMb: number;
    lambdaTimeoutMinutes: number;
    fargateCpu: number;
    fargateMemoryMb: number;
    gpu: {
      enabled: boolean;
      instanceType: string;
      minCapacity: number;
      maxCapacity: number;
    };
  };
  serving: {
    cpu: number;
    memoryMb: number;
    minTasks: number;
    maxTasks: number;
    targetCpuPercent: number;
    /** p95 latency SLO (ms) for alarms and scale-out. */
    p95SloMs: number;
    /** Target in-flight queue depth per task. */
    targetQueueDepth: number;
    /** API Gateway stage throttling. */
    throttleRatePerSecond: number;
    throttleBurst: number;
    /** Serve the forecast console at /console (the service's CONSOLE_ENABLED); off in prod unless set. */
    console: boolean;
  };
  observability: {
    /** Alarm when training data arrived but nothing was promoted within this many hours. */
    promotionDeadlineHours: number;
    /** Alarm when 5xx responses exceed this percentage of requests. */
    max5xxPercent: number;
    alarmEmail?: string;
  };
  data: {
    /** Days before inference logs expire. */
    inferenceLogDays: number;
    /** Days before run artifacts move to Infrequent Access, then to Glacier Instant Retrieval (never deleted). */
    runsInfrequentAccessDays: number;
    runsGlacierIrDays: number;
    /** Days before evaluation reports expire. */
    evaluationsExpireDays: number;
    accessLogDays: number;
    /** prod keeps buckets on stack deletion; dev destroys them. */
    retainData: boolean;
  };
  logRetentionDays: number;
}

type Defaults = Omit<FltsConfig, "envName" | "prefix" | "region" | "availabilityZones">;

const DEV: Defaults = {
  maxAzs: 2,
  natGateways: 1,
  msk: {
    mode: "serverless",
    brokerInstanceType: "kafka.m7g.large",
    brokerCount: 2,
    kafkaVersion: "3.9.x",
    topicPartitions: 3,
    minPollers: 1,
    maxPollers: 3,
  },
  trainers: {
    backends: {
      GRU: "ecs",
      LSTM: "ecs",
      PROPHET: "lambda",
      LINEAR: "lambda",
      GBDT: "lambda",
      ENSEMBLE: "lambda",
    },
    lambdaMemoryMb: 4096,
    lambdaTimeoutMinutes: 15,
    fargateCpu: 2048,
    fargateMemoryMb: 8192,
    gpu: { enabled: false, instanceType: "g5.xlarge", minCapacity: 0, maxCapacity: 2 },
  },
  serving: {
    cpu: 1024,
    memoryMb: 2048,
    minTasks: 1,
    maxTasks: 4,
    targetCpuPercent: 60,
    p95SloMs: 250,
    targetQueueDepth: 16,
    throttleRatePerSecond: 100,
    throttleBurst: 200,
    console: true,
  },
  observability: { promotionDeadlineHours: 6, max5xxPercent: 1 },
  data: {
    inferenceLogDays: 30,
    runsInfrequentAccessDays: 30,
    runsGlacierIrDays: 180,
    evaluationsExpireDays: 180,
    accessLogDays: 90,
    retainData: false,
  },
  logRetentionDays: 14,
};

/** prod: dev with more zones, brokers, pollers, capacity and retention. */
const PROD: Defaults = {
  ...DEV,
  maxAzs: 3,
  natGateways: 2,
  msk: { ...DEV.msk, brokerCount: 3, topicPartitions: 6, maxPollers: 10 },
  trainers: {
    ...DEV.trainers,
    lambdaMemoryMb: 8192,
    fargateCpu: 4096,
    fargateMemoryMb: 16384,
    gpu: { ...DEV.trainers.gpu, maxCapacity: 4 },
  },
  serving: {
    ...DEV.serving,
    cpu: 2048,
    memoryMb: 4096,
    minTasks: 2,
    maxTasks: 20,
    p95SloMs: 200,
    throttleRatePerSecond: 1000,
    throttleBurst: 2000,
    console: false,
  },
  observability: { promotionDeadlineHours: 3, max5xxPercent: 0.5 },
  data: {
    ...DEV.data,
    inferenceLogDays: 90,
    evaluationsExpireDays: 365,
    accessLogDays: 365,
    retainData: true,
  },
  logRetentionDays: 90,
};

const DEFAULTS: Record<EnvName, Defaults> = { dev: DEV, prod: PROD };

/** Parses `GRU=ecs-gpu,LSTM=ecs,PROPHET=lambda` (the same syntax as the TRAINER_BACKENDS variable). */
export function parseBackends(text: string): Partial<Record<ModelType, TrainerBackend>> {
  const out: Partial<Record<ModelType, TrainerBackend>> = {};
  for (const pair of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [type, backend] = pair.split("=").map((s) => s.trim());
    if (!type || !backend || !(MODEL_TYPES as readonly string[]).includes(type)) {
      throw new Error(
        `trainerBackends: '${pair}' is not <MODEL_TYPE>=<backend> (types ${MODEL_TYPES.join(", ")})`,
      );
    }
    if (!(TRAINER_BACKENDS as readonly string[]).includes(backend)) {
      throw new Error(`trainerBackends: backend '${backend}' is not one of ${TRAINER_BACKENDS.join(", ")}`);
    }
    out[type as ModelType] = backend as TrainerBackend;
  }
  return out;
}

/**
 * Context keys (all optional): env (dev|prod), account, region, msk (serverless|provisioned|import),
 * mskClusterArn, vpcId, availabilityZones, privateSubnetIds, kafkaSecurityGroupId, gpu (true|false),
 * gpuInstanceType, trainerBackends (`GRU=ecs-gpu,...`), alarmEmail, p95SloMs,
 * promotionDeadlineHours.
 */
export function loadConfig(ctx: ContextReader, env: NodeJS.ProcessEnv = process.env): FltsConfig {
  const envName = (str(ctx, "env") ?? "dev") as EnvName;
  if (envName !== "dev" && envName !== "prod") {
    throw new Error(`context 'env' must be dev or prod, got '${envName}'`);
  }
  const base = structuredClone(DEFAULTS[envName]);
  const region = str(ctx, "region") ?? env.CDK_DEFAULT_REGION ?? "us-east-1";
  const zones =
    list(ctx, "availabilityZones") ?? ["a", "b", "c"].slice(0, base.maxAzs).map((z) => `${region}${z}`);
  const cfg: FltsConfig = { envName, prefix: `flts-${envName}`, ...base, region, availabilityZones: zones };
  const account = str(ctx, "account") ?? env.CDK_DEFAULT_ACCOUNT;
  if (account) cfg.account = account;

  const mode = str(ctx, "msk");
  if (mode) {
    if (!["serverless", "provisioned", "import"].includes(mode)) {
      throw new Error(`context 'msk' must be serverless, provisioned or import, got '${mode}'`);
    }
    cfg.msk.mode = mode as MskMode;
  }
  const clusterArn = str(ctx, "mskClusterArn");
  if (clusterArn && !mode) cfg.msk.mode = "import";
  if (cfg.msk.mode === "import") {
    if (!clusterArn?.startsWith("arn:") || !/:cluster\/[^/]+\/[^/]+$/.test(clusterArn)) {
      throw new Error(
        "msk=import needs -c mskClusterArn=arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>",
      );
    }
    const vpcId = str(ctx, "vpcId");
    const azs = list(ctx, "availabilityZones");
    const subnets = list(ctx, "privateSubnetIds");
    const sg = str(ctx, "kafkaSecurityGroupId");
    if (!vpcId || !azs || !subnets || !sg || azs.length !== subnets.length) {
      throw new Error(
        "msk=import needs -c vpcId=, -c availabilityZones=a,b, -c privateSubnetIds=x,y (one per zone) and -c kafkaSecurityGroupId= (the cluster's network)",
      );
    }
    cfg.msk.clusterArn = clusterArn;
    cfg.msk.network = { vpcId, availabilityZones: azs, privateSubnetIds: subnets, kafkaSecurityGroupId: sg };
  }

  const gpu = bool(ctx, "gpu");
  if (gpu !== undefined) cfg.trainers.gpu.enabled = gpu;
  const gpuType = str(ctx, "gpuInstanceType");
  if (gpuType) cfg.trainers.gpu.instanceType = gpuType;
  // With GPU capacity enabled, the recurrent models train on it unless told otherwise.
  if (cfg.trainers.gpu.enabled) {
    cfg.trainers.backends.GRU = "ecs-gpu";
    cfg.trainers.backends.LSTM = "ecs-gpu";
  }
  const backends = str(ctx, "trainerBackends");
  if (backends) Object.assign(cfg.trainers.backends, parseBackends(backends));
  if (!cfg.trainers.gpu.enabled && Object.values(cfg.trainers.backends).includes("ecs-gpu")) {
    throw new Error("a model type uses the ecs-gpu backend but GPU capacity is off: add -c gpu=true");
  }

  const email = str(ctx, "alarmEmail");
  if (email) cfg.observability.alarmEmail = email;
  const slo = num(ctx, "p95SloMs");
  if (slo !== undefined) cfg.serving.p95SloMs = slo;
  const deadline = num(ctx, "promotionDeadlineHours");
  if (deadline !== undefined) cfg.observability.promotionDeadlineHours = deadline;
  return cfg;
}
