/**
 * Builds every FLTS stack into an app. infra/app.ts (the `cdk` entry) and the tests both call this,
 * so what is tested is what is deployed.
 */
import { type App, type Environment, Tags, Validations } from "aws-cdk-lib";
import type { FunctionSpec } from "../functions/manifest.ts";
import { type FltsConfig, loadConfig } from "./config.ts";
import { FltsAwsSolutionsChecks } from "./nag.ts";
import { DataStack } from "./stacks/data-stack.ts";
import { MessagingStack } from "./stacks/messaging-stack.ts";
import { NetworkStack } from "./stacks/network-stack.ts";
import { ObservabilityStack } from "./stacks/observability-stack.ts";
import { PipelineStack } from "./stacks/pipeline-stack.ts";
import { ServingStack } from "./stacks/serving-stack.ts";

export interface FltsStacks {
  config: FltsConfig;
  network: NetworkStack;
  data: DataStack;
  messaging: MessagingStack;
  pipeline: PipelineStack;
  serving: ServingStack;
  observability: ObservabilityStack;
}

export interface BuildOptions {
  /** Run cdk-nag's AwsSolutions checks on every stack (default true). */
  nag?: boolean;
  /** Replaces the manifest (tests only). */
  functions?: readonly FunctionSpec[];
}

export function buildFlts(app: App, options: BuildOptions = {}): FltsStacks {
  const config = loadConfig((key) => app.node.tryGetContext(key));
  const env: Environment = { region: config.region, ...(config.account ? { account: config.account } : {}) };
  const name = (part: string) => `Flts-${config.envName}-${part}`;
  const common = { config, env, terminationProtection: config.envName === "prod" };

  const network = new NetworkStack(app, name("Network"), { ...common, description: "FLTS network (VPC)" });
  const data = new DataStack(app, name("Data"), { ...common, description: "FLTS buckets" });
  const messaging = new MessagingStack(app, name("Messaging"), {
    ...common,
    description: "FLTS Kafka (Amazon MSK, IAM auth) and topics",
    vpc: network.vpc,
    kafkaSecurityGroup: network.kafkaSecurityGroup,
  });
  // What the workload stacks (pipeline, serving) run against.
  const workload = { ...common, buckets: data.buckets, cluster: messaging.cluster };
  const pipeline = new PipelineStack(app, name("Pipeline"), {
    ...workload,
    description: "FLTS event functions and trainers",
    ...(options.functions ? { functions: options.functions } : {}),
  });
  const serving = new ServingStack(app, name("Serving"), {
    ...workload,
    description: "FLTS inference service and HTTPS API",
  });
  const observability = new ObservabilityStack(app, name("Observability"), {
    ...common,
    description: "FLTS dashboard and alarms",
    functions: [...pipeline.functions.values()],
    trainers: pipeline.trainers,
    serving,
    cluster: messaging.cluster,
  });

  Tags.of(app).add("project", "flts");
  Tags.of(app).add("environment", config.envName);
  if (options.nag ?? true) {
    // The AwsSolutions pack validates the synthesized app: an unacknowledged finding fails `cdk synth`.
    Validations.of(app).addPlugins(new FltsAwsSolutionsChecks(app, { verbose: true }));
  }
  return { config, network, data, messaging, pipeline, serving, observability };
}
