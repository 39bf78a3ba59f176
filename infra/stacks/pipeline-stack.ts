/**
 * The event pipeline: one Lambda per manifest entry (functions/manifest.ts) with its MSK, S3 or schedule
 * trigger, plus the trainer capacity train-dispatch launches. Nothing here names a function: the
 * loop over FUNCTIONS is the only source.
 */
import { Stack, type StackProps } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";
import { type BucketRole, FUNCTIONS, type FunctionSpec } from "../../functions/manifest.ts";
import type { FltsConfig } from "../config.ts";
import type { BucketMap } from "../constructs/bucket-access.ts";
import type { KafkaClusterRef } from "../constructs/kafka-access.ts";
import { NativeLayers } from "../constructs/native-layers.ts";
import { PipelineFunction } from "../constructs/pipeline-function.ts";
import { Trainers } from "../constructs/trainers.ts";
import { acknowledge } from "../nag.ts";

export interface PipelineStackProps extends StackProps {
  config: FltsConfig;
  buckets: BucketMap;
  cluster: KafkaClusterRef;
  /** Defaults to the manifest; tests pass a modified list to prove the loop covers it. */
  functions?: readonly FunctionSpec[];
}

export class PipelineStack extends Stack {
  readonly functions: Map<string, PipelineFunction> = new Map();
  readonly trainers: Trainers;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, cluster } = props;
    // Buckets are re-imported here so the S3 notifications (and the Lambda permissions they need)
    // live in this stack: the data stack never depends on the pipeline stack (no reference cycle).
    const buckets = Object.fromEntries(
      (Object.entries(props.buckets) as [BucketRole, s3.IBucket][]).map(([role, b]) => [
        role,
        s3.Bucket.fromBucketAttributes(this, `Bucket-${role}`, {
          bucketArn: b.bucketArn,
          bucketName: b.bucketName,
        }),
      ]),
    ) as BucketMap;

    const layers = new NativeLayers(this, "Layers");
    this.trainers = new Trainers(this, "Trainers", { config, buckets, vpc: cluster.vpc });

    acknowledge(this, [
      {
        id: "AwsSolutions-IAM4",
        reason:
          "aws-cdk-lib's S3 BucketNotifications handler (configures the triggers on the imported buckets) uses AWSLambdaBasicExecutionRole.",
        findings: /service-role\/AWSLambdaBasicExecutionRole$/,
      },
    ]);
    for (const spec of props.functions ?? FUNCTIONS) {
      const pf = new PipelineFunction(this, spec.name, {
        spec,
        config,
        buckets,
        cluster,
        layers,
        ...(spec.launchesTrainers ? { environment: this.trainers.dispatchEnvironment() } : {}),
      });
      if (spec.launchesTrainers) this.trainers.grantLaunch(pf.fn);
      this.functions.set(spec.name, pf);
    }
  }
}
