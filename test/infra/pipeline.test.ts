/**
 * The pipeline stack against the manifest: every FUNCTIONS entry is a Lambda with the trigger,
 * sizing, layers and grants the manifest declares. This file runs the real bundling (esbuild for each
 * function, the native layers) once, and checks cdk-nag on that synthesis.
 */
import { Match } from "aws-cdk-lib/assertions";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DISPATCHED_MODEL_TYPES, dlqTopic } from "../../functions/common/contracts.ts";
import { type BucketRole, FUNCTIONS, type FunctionSpec, TRAINER } from "../../functions/manifest.ts";
import { BUCKET_ENV } from "../../infra/constructs/bucket-access.ts";
import { allStatements, asArray, resources, type Synthesized, synthFlts } from "./synth.ts";

let s: Synthesized;
beforeAll(() => {
  s = synthFlts({ bundling: true });
}, 600_000);
afterAll(() => s?.cleanup());

const fnName = (spec: FunctionSpec) => `${s.config.prefix}-${spec.name}`;

function lambdaOf(spec: FunctionSpec): [string, Record<string, unknown>] {
  const found = resources(s.template(s.pipeline), "AWS::Lambda::Function").filter(
    ([, r]) => r.Properties.FunctionName === fnName(spec),
  );
  expect(found, `a Lambda named ${fnName(spec)} for manifest entry '${spec.name}'`).toHaveLength(1);
  const [id, res] = found[0] as [string, { Properties: Record<string, unknown> }];
  return [id, res.Properties];
}

function bucketLogicalId(role: BucketRole): string {
  return s.data.getLogicalId(s.data.buckets[role].node.defaultChild as s3.CfnBucket);
}

describe("every manifest function", () => {
  it("has exactly one pipeline Lambda per manifest entry", () => {
    const named = resources(s.template(s.pipeline), "AWS::Lambda::Function").filter(([, r]) =>
      String(r.Properties.FunctionName ?? "").startsWith(`${s.config.prefix}-`),
    );
    const pipelineNames = named
      .map(([, r]) => String(r.Properties.FunctionName))
      .filter((n) => n !== `${s.config.prefix}-trainer`);
    expect(pipelineNames.sort()).toEqual(FUNCTIONS.map(fnName).sort());
  });

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))(
    "%s: runtime, sizing, layers, VPC, tracing",
    (_, spec) => {
      const [, props] = lambdaOf(spec);
      expect(props.MemorySize).toBe(spec.memoryMb);
      expect(props.Timeout).toBe(spec.timeoutSeconds);
      expect(props.Handler).toBe("index.handler");
      expect(String(props.Runtime)).toMatch(/^nodejs\d+\.x$/);
      expect(asArray(props.Layers)).toHaveLength(spec.layers.length);
      expect(props.VpcConfig).toBeDefined();
      expect(props.TracingConfig).toEqual({ Mode: "Active" });
    },
  );

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))(
    "%s: environment names the functions read",
    (_, spec) => {
      const [, props] = lambdaOf(spec);
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const name of Object.values(BUCKET_ENV)) expect(env[name], name).toBeDefined();
      expect(env.KAFKA_AUTH).toBe("iam");
      expect(env.EXPECTED_MODEL_TYPES).toBe(DISPATCHED_MODEL_TYPES.join(","));
      expect(env.MSK_CLUSTER_ARN).toBeDefined();
      expect(env.FLTS_S3_ENDPOINT).toBeUndefined();
      expect(env.POWERTOOLS_SERVICE_NAME).toBe(spec.name);
      expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe("FLTS/Pipeline");
      if (spec.launchesTrainers) {
        expect(env.TRAINER_BACKENDS).toMatch(
          /^GRU=\w+,LSTM=\w+,PROPHET=\w+,LINEAR=\w+,GBDT=\w+,ENSEMBLE=\w+$/,
        );
      }
    },
  );

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))("%s: the trigger the manifest declares", (_, spec) => {
    const [id] = lambdaOf(spec);
    const t = s.template(s.pipeline);
    const trigger = spec.trigger;
    if (trigger.kind === "kafka") {
      t.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        FunctionName: { Ref: id },
        Topics: [trigger.topic],
        AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: trigger.consumerGroup },
        BatchSize: trigger.batchSize,
        StartingPosition: trigger.startingPosition,
        MaximumRetryAttempts: trigger.maxAttempts - 1,
        DestinationConfig: { OnFailure: { Destination: `kafka://${dlqTopic(trigger.topic)}` } },
        EventSourceArn: Match.anyValue(),
      });
    } else if (trigger.kind === "s3") {
      const notifications = resources(t, "Custom::S3BucketNotifications").filter(([, r]) =>
        JSON.stringify(r.Properties.BucketName).includes(bucketLogicalId(trigger.bucket)),
      );
      expect(notifications, `notifications on the ${trigger.bucket} bucket`).toHaveLength(1);
      const notification = notifications[0]?.[1].Properties.NotificationConfiguration as {
        LambdaFunctionConfigurations: {
          Events: string[];
          Filter: { Key: { FilterRules: { Name: string; Value: string }[] } };
          LambdaFunctionArn: unknown;
        }[];
      };
      const configs = notification.LambdaFunctionConfigurations.filter((c) =>
        JSON.stringify(c.LambdaFunctionArn).includes(id),
      );
      const filters = configs.map((c) => {
        expect(c.Events).toEqual(["s3:ObjectCreated:*"]);
        const rules = Object.fromEntries(
          c.Filter.Key.FilterRules.map((r) => [r.Name.toLowerCase(), r.Value]),
        );
        return { prefix: rules.prefix, suffix: rules.suffix };
      });
      expect(filters.sort((a, b) => String(a.suffix).localeCompare(String(b.suffix)))).toEqual(
        [...trigger.suffixes].sort().map((suffix) => ({ prefix: trigger.prefix, suffix })),
      );
      // Async invocation: the manifest's attempts and event age, then the failure queue.
      expect(trigger.invoke).toEqual({ maxAttempts: 3, maxEventAgeHours: 6 });
      t.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
        FunctionName: { Ref: id },
        MaximumRetryAttempts: trigger.invoke.maxAttempts - 1,
        MaximumEventAgeInSeconds: trigger.invoke.maxEventAgeHours * 3600,
        DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      });
    } else if (trigger.kind === "schedule") {
      // EventBridge (the local runtime's timer stands in for it locally): a rate rule targeting the
      // function, a failed tick not retried.
      const rules = resources(t, "AWS::Events::Rule").filter(([, r]) =>
        JSON.stringify(r.Properties.Targets).includes(id),
      );
      expect(rules).toHaveLength(1);
      const rule = rules[0]?.[1].Properties as {
        ScheduleExpression: string;
        State: string;
        Targets: { RetryPolicy?: { MaximumRetryAttempts: number } }[];
      };
      const unit = trigger.everyMinutes === 1 ? "minute" : "minutes";
      expect(rule.ScheduleExpression).toBe(`rate(${trigger.everyMinutes} ${unit})`);
      expect(rule.State).toBe("ENABLED");
      expect(rule.Targets[0]?.RetryPolicy?.MaximumRetryAttempts).toBe(0);
      t.hasResourceProperties("AWS::Lambda::Permission", {
        Action: "lambda:InvokeFunction",
        FunctionName: { "Fn::GetAtt": [id, "Arn"] },
        Principal: "events.amazonaws.com",
      });
    } else {
      throw new Error(`manifest trigger kind '${(trigger as { kind: string }).kind}' has no infra test`);
    }
  });

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))(
    "%s: S3 grants are exactly the manifest's prefixes",
    (_, spec) => {
      const [id] = lambdaOf(spec);
      const t = s.template(s.pipeline);
      const roleRef = (lambdaOf(spec)[1].Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
      const statements = allStatements([t])
        .filter(({ id: policyId }) => {
          const policy = t.toJSON().Resources[policyId];
          return JSON.stringify(policy.Properties?.Roles ?? []).includes(roleRef);
        })
        .map((x) => x.statement);
      expect(statements.length, `policy statements of ${id}`).toBeGreaterThan(0);
      const objectGrants = new Set<string>();
      for (const st of statements) {
        for (const r of asArray(st.Resource)) {
          const text = JSON.stringify(r);
          for (const role of Object.keys(BUCKET_ENV) as BucketRole[]) {
            if (!text.includes(bucketLogicalId(role))) continue;
            const m = /\/([^"]*)\*"\]\]\}$/.exec(text);
            if (m) {
              const actions = asArray(st.Action);
              if (actions.includes("s3:GetObject")) objectGrants.add(`${role}|${m[1]}|read`);
              if (actions.includes("s3:PutObject")) objectGrants.add(`${role}|${m[1]}|write`);
            }
          }
        }
      }
      const expected = new Set<string>();
      for (const g of spec.buckets) {
        if (g.access !== "write") expected.add(`${g.bucket}|${g.prefix}|read`);
        if (g.access !== "read") expected.add(`${g.bucket}|${g.prefix}|write`);
      }
      expect([...objectGrants].sort()).toEqual([...expected].sort());
    },
  );

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))(
    "%s: Kafka permissions name its topics and group",
    (_, spec) => {
      const [, props] = lambdaOf(spec);
      const roleRef = (props.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
      const t = s.template(s.pipeline);
      const statements = allStatements([t])
        .filter(({ id }) =>
          JSON.stringify(t.toJSON().Resources[id].Properties?.Roles ?? []).includes(roleRef),
        )
        .map((x) => x.statement);
      const kafka = statements.filter((st) => asArray(st.Action).some((a) => a.startsWith("kafka-cluster:")));
      for (const st of kafka) {
        expect(asArray(st.Resource)).not.toContain("*");
        expect(asArray(st.Action)).not.toContain("kafka-cluster:*");
      }
      const text = JSON.stringify(kafka);
      const writes = kafka.filter((st) => asArray(st.Action).includes("kafka-cluster:WriteData"));
      for (const topic of spec.produces) expect(JSON.stringify(writes)).toContain(`/${topic}`);
      if (spec.trigger.kind === "kafka") {
        expect(text).toContain(`/${spec.trigger.consumerGroup}`);
        expect(JSON.stringify(writes)).toContain(`/${dlqTopic(spec.trigger.topic)}`);
      }
    },
  );
});

describe("trainers and layers", () => {
  it("builds one layer per native module from node_modules", () => {
    const layers = resources(s.template(s.pipeline), "AWS::Lambda::LayerVersion");
    const used = new Set(FUNCTIONS.flatMap((f) => f.layers));
    expect(layers).toHaveLength(used.size);
  });

  it("lets the trainer launcher start only the trainer backends", () => {
    const launcher = FUNCTIONS.find((f) => f.launchesTrainers);
    expect(launcher).toBeDefined();
    const [, props] = lambdaOf(launcher as FunctionSpec);
    const roleRef = (props.Role as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const t = s.template(s.pipeline);
    const statements = allStatements([t])
      .filter(({ id }) => JSON.stringify(t.toJSON().Resources[id].Properties?.Roles ?? []).includes(roleRef))
      .map((x) => x.statement);
    const actions = statements.flatMap((st) => asArray(st.Action));
    expect(actions).toContain("lambda:InvokeFunction");
    expect(actions).toContain("ecs:RunTask");
    expect(actions).toContain("iam:PassRole");
    const runTask = statements.find((st) => asArray(st.Action).includes("ecs:RunTask"));
    expect(runTask?.Condition).toBeDefined();
    const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const name of [
      "TRAINER_LAMBDA_FUNCTION",
      "ECS_CLUSTER",
      "ECS_TASK_DEFINITION",
      "ECS_SUBNETS",
      "ECS_SECURITY_GROUPS",
    ]) {
      expect(env[name], name).toBeDefined();
    }
  });

  it("defines the trainer images: a container-image Lambda and a Fargate task", () => {
    const t = s.template(s.pipeline);
    t.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: `${s.config.prefix}-trainer`,
      PackageType: "Image",
      Timeout: 900,
    });
    t.hasResourceProperties("AWS::ECS::TaskDefinition", {
      RequiresCompatibilities: ["FARGATE"],
      ContainerDefinitions: [Match.objectLike({ Name: "trainer" })],
    });

    // The trainer Lambda's async invocation is the manifest's TRAINER.invoke.
    const [trainerId] = resources(t, "AWS::Lambda::Function").find(
      ([, r]) => r.Properties.FunctionName === `${s.config.prefix}-trainer`,
    ) ?? [""];
    t.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: trainerId },
      MaximumRetryAttempts: TRAINER.invoke.maxAttempts - 1,
      MaximumEventAgeInSeconds: TRAINER.invoke.maxEventAgeHours * 3600,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });
});

describe("cdk-nag", () => {
  it("reports no unacknowledged AwsSolutions error", () => {
    expect(s.nag().errors).toEqual([]);
  });
});
