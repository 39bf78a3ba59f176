/** Trainer launchers for AWS. Lambda and ECS cannot run here: their SDK clients are fakes (named so). */
import type { ECSClient, RunTaskCommandInput } from "@aws-sdk/client-ecs";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { TrainerJobSpec } from "../../functions/common/contracts.ts";
import { EcsLauncher, LambdaLauncher, launcherFor } from "../../functions/train-dispatch/backends.ts";

const hash = "b".repeat(64);
const spec = TrainerJobSpec.parse({
  v: 1,
  run_id: "X-gru-1",
  model_type: "GRU",
  identifier: "X",
  config_hash: hash,
  training_data: {
    bucket: "processed-data",
    object_key: "X/h/train.parquet",
    test_object_key: "X/h/test.parquet",
    config_hash: hash,
    identifier: "X",
    v: 1,
    size: 1,
  },
  artifacts: { bucket: "model-artifacts", prefix: "runs/X-gru-1/" },
  params: { max_epochs: 2 },
});

function fakeClient(reply: unknown) {
  const sent: { input: Record<string, unknown> }[] = [];
  return {
    sent,
    client: {
      send: async (command: { input: Record<string, unknown> }) => {
        sent.push(command);
        return reply;
      },
    },
  };
}

describe("lambda backend (fake AWS Lambda client)", () => {
  it("invokes the per-type function asynchronously with the job spec as payload", async () => {
    const fake = fakeClient({ StatusCode: 202, $metadata: { requestId: "req-1" } });
    const launcher = new LambdaLauncher(fake.client as unknown as LambdaClient, {
      TRAINER_LAMBDA_FUNCTION: "trainer",
      TRAINER_LAMBDA_FUNCTION_GRU: "trainer-gru",
    });
    expect(await launcher.launch(spec)).toEqual({ backend: "lambda", handle: "req-1" });
    const input = fake.sent[0]?.input as {
      FunctionName: string;
      InvocationType: string;
      Payload: Uint8Array;
    };
    expect(input.FunctionName).toBe("trainer-gru");
    expect(input.InvocationType).toBe("Event");
    expect(JSON.parse(Buffer.from(input.Payload).toString("utf8"))).toEqual(spec);
  });

  it("fails when the function is not configured or the invoke is not accepted", async () => {
    const fake = fakeClient({ StatusCode: 500, $metadata: {} });
    await expect(new LambdaLauncher(fake.client as unknown as LambdaClient, {}).launch(spec)).rejects.toThrow(
      /TRAINER_LAMBDA_FUNCTION \(or TRAINER_LAMBDA_FUNCTION_GRU\) must be set/,
    );
    await expect(
      new LambdaLauncher(fake.client as unknown as LambdaClient, { TRAINER_LAMBDA_FUNCTION: "t" }).launch(
        spec,
      ),
    ).rejects.toThrow(/answered 500, not 202/);
  });
});

describe("ecs backend (fake AWS ECS client)", () => {
  const env = {
    ECS_CLUSTER: "c",
    ECS_TASK_DEFINITION: "td",
    ECS_SUBNETS: "s1,s2",
    ECS_SECURITY_GROUPS: "sg",
  };

  it("runs a Fargate task with the job in FLTS_TRAIN_JOB", async () => {
    const fake = fakeClient({ tasks: [{ taskArn: "arn:task/1" }], failures: [] });
    expect(await new EcsLauncher(fake.client as unknown as ECSClient, env).launch(spec)).toEqual({
      backend: "ecs",
      handle: "arn:task/1",
    });
    const input = fake.sent[0]?.input as unknown as RunTaskCommandInput;
    expect(input.launchType).toBe("FARGATE");
    expect(input.capacityProviderStrategy).toBeUndefined();
    expect(input.networkConfiguration?.awsvpcConfiguration?.subnets).toEqual(["s1", "s2"]);
    const envVars = input.overrides?.containerOverrides?.[0]?.environment ?? [];
    expect(JSON.parse(envVars.find((e) => e.name === "FLTS_TRAIN_JOB")?.value ?? "")).toEqual(spec);
  });

  it("uses a GPU capacity provider when one is configured for the type", async () => {
    const fake = fakeClient({ tasks: [{ taskArn: "arn:task/2" }] });
    await new EcsLauncher(fake.client as unknown as ECSClient, {
      ...env,
      ECS_CAPACITY_PROVIDER_GRU: "gpu-cp",
      ECS_TASK_DEFINITION_GRU: "td-gpu",
    }).launch(spec);
    const input = fake.sent[0]?.input as unknown as RunTaskCommandInput;
    expect(input.launchType).toBeUndefined();
    expect(input.capacityProviderStrategy).toEqual([{ capacityProvider: "gpu-cp", weight: 1 }]);
    expect(input.taskDefinition).toBe("td-gpu");
  });

  it("reports RunTask failures", async () => {
    const fake = fakeClient({ tasks: [], failures: [{ reason: "RESOURCE:GPU", detail: "no capacity" }] });
    await expect(new EcsLauncher(fake.client as unknown as ECSClient, env).launch(spec)).rejects.toThrow(
      /ECS RunTask failed: RESOURCE:GPU no capacity/,
    );
  });
});

describe("local backend outside the local runtime", () => {
  it("is refused with a clear message", () => {
    expect(() => launcherFor("local")).toThrow(/runs only in the local runtime/);
  });
});
