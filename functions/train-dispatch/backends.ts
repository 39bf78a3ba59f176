/**
 * Trainer launchers, one per backend: `lambda` (async invoke of a container-image function) and
 * `ecs` (RunTask on Fargate, or on an EC2 GPU capacity provider) here; `local` (a Python process)
 * is registered by the local runtime, the only place it can run.
 */
import { ECSClient, RunTaskCommand, type RunTaskCommandInput } from "@aws-sdk/client-ecs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { ModelType, TrainerJobSpec } from "../common/contracts.ts";
import { s3Uri } from "../common/s3.ts";
import { ConfigError, type Env } from "../common/settings.ts";
import { type Backend, loadLaunchSettings } from "./settings.ts";

export interface LaunchInfo {
  backend: Backend;
  /** Where it runs: a process id, a Lambda request id, an ECS task ARN. */
  handle: string;
}

export interface TrainerLauncher {
  launch(spec: TrainerJobSpec): Promise<LaunchInfo>;
}

const registry = new Map<Backend, TrainerLauncher>();

export function registerTrainerLauncher(backend: Backend, launcher: TrainerLauncher): void {
  registry.set(backend, launcher);
}

export function launcherFor(backend: Backend, env: Env = process.env): TrainerLauncher {
  const registered = registry.get(backend);
  if (registered) return registered;
  if (backend === "lambda") return new LambdaLauncher(new LambdaClient({}), env);
  if (backend === "ecs") return new EcsLauncher(new ECSClient({}), env);
  throw new Error(`trainer backend '${backend}' is not available here (it runs only in the local runtime)`);
}

/** A per-type launch setting the type's trainer needs (`NAME_<TYPE>`, else `NAME`). */
function required(values: Record<ModelType, string>, name: string, type: ModelType): string {
  const value = values[type];
  if (!value) throw new ConfigError(`${name} (or ${name}_${type}) must be set for the ${type} trainer`);
  return value;
}

export class LambdaLauncher implements TrainerLauncher {
  constructor(
    private readonly client: Pick<LambdaClient, "send">,
    private readonly env: Env,
  ) {}

  async launch(spec: TrainerJobSpec): Promise<LaunchInfo> {
    const { TRAINER_LAMBDA_FUNCTION } = loadLaunchSettings(this.env);
    const functionName = required(TRAINER_LAMBDA_FUNCTION, "TRAINER_LAMBDA_FUNCTION", spec.model_type);
    const out = await this.client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "Event",
        Payload: Buffer.from(JSON.stringify(spec)),
      }),
    );
    if (out.StatusCode !== 202)
      throw new Error(`async invoke of ${functionName} answered ${out.StatusCode}, not 202`);
    return { backend: "lambda", handle: out.$metadata.requestId ?? functionName };
  }
}

export class EcsLauncher implements TrainerLauncher {
  constructor(
    private readonly client: Pick<ECSClient, "send">,
    private readonly env: Env,
  ) {}

  request(spec: TrainerJobSpec): RunTaskCommandInput {
    const s = loadLaunchSettings(this.env);
    const type = spec.model_type;
    const capacityProvider = s.ECS_CAPACITY_PROVIDER[type];
    const subnets = s.ECS_SUBNETS;
    if (!subnets) throw new ConfigError("ECS_SUBNETS must list the subnets trainer tasks run in");
    const jobUri = s3Uri(spec.artifacts.bucket, `${spec.artifacts.prefix}job.json`);
    return {
      cluster: required(s.ECS_CLUSTER, "ECS_CLUSTER", type),
      taskDefinition: required(s.ECS_TASK_DEFINITION, "ECS_TASK_DEFINITION", type),
      count: 1,
      startedBy: `flts-${spec.run_id}`.slice(0, 36),
      ...(capacityProvider
        ? { capacityProviderStrategy: [{ capacityProvider, weight: 1 }] }
        : { launchType: "FARGATE" as const }),
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets,
          securityGroups: s.ECS_SECURITY_GROUPS,
          assignPublicIp: s.ECS_ASSIGN_PUBLIC_IP,
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: s.ECS_CONTAINER_NAME,
            command: ["run"],
            // The trainer reads its job from FLTS_TRAIN_JOB (a copy also sits at job.json).
            environment: [
              { name: "FLTS_TRAIN_JOB", value: JSON.stringify(spec) },
              { name: "FLTS_JOB_URI", value: jobUri },
            ],
          },
        ],
      },
      tags: [
        { key: "flts:run_id", value: spec.run_id },
        { key: "flts:model_type", value: type },
      ],
    };
  }

  async launch(spec: TrainerJobSpec): Promise<LaunchInfo> {
    const out = await this.client.send(new RunTaskCommand(this.request(spec)));
    const failure = out.failures?.[0];
    if (failure || !out.tasks?.[0]?.taskArn) {
      throw new Error(
        `ECS RunTask failed: ${failure?.reason ?? "no task started"} ${failure?.detail ?? ""}`.trim(),
      );
    }
    return { backend: "ecs", handle: out.tasks[0].taskArn };
  }
}
