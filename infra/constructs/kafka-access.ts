/**
 * IAM for MSK with IAM authentication: `kafka-cluster:*` actions scoped to the cluster, topic and
 * consumer-group ARNs a principal actually uses (derived from the function manifest).
 */
import { Aws, Fn, Token } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { acknowledge } from "../nag.ts";

/** What a stack needs to reach the cluster. */
export interface KafkaClusterRef {
  clusterArn: string;
  /** Name used by CloudWatch (`Cluster Name` dimension). */
  clusterName: string;
  vpc: ec2.IVpc;
  /** Attached to the brokers and to every client; allows 9098 from itself. */
  securityGroup: ec2.ISecurityGroup;
  /** Where the cluster exposes CloudWatch metrics per topic (`Cluster Name`, `Topic`): Serverless only. */
  serverless: boolean;
}

interface ArnParts {
  partition: string;
  region: string;
  account: string;
  name: string;
  uuid: string;
}

/** Splits `arn:<p>:kafka:<region>:<account>:cluster/<name>/<uuid>`, token or literal. */
export function clusterArnParts(clusterArn: string): ArnParts {
  if (!Token.isUnresolved(clusterArn)) {
    const m = /^arn:([^:]+):kafka:([^:]+):(\d{12}):cluster\/([^/]+)\/([^/]+)$/.exec(clusterArn);
    if (!m) throw new Error(`not an MSK cluster ARN: ${clusterArn}`);
    const [, partition = "", region = "", account = "", name = "", uuid = ""] = m;
    return { partition, region, account, name, uuid };
  }
  const colon = Fn.split(":", clusterArn);
  const slash = Fn.split("/", clusterArn);
  return {
    partition: Aws.PARTITION,
    region: Fn.select(3, colon),
    account: Fn.select(4, colon),
    name: Fn.select(1, slash),
    uuid: Fn.select(2, slash),
  };
}

function kafkaArn(clusterArn: string, kind: "topic" | "group", name: string): string {
  const p = clusterArnParts(clusterArn);
  if (!Token.isUnresolved(clusterArn)) {
    return `arn:${p.partition}:kafka:${p.region}:${p.account}:${kind}/${p.name}/${p.uuid}/${name}`;
  }
  return Fn.join("", [
    "arn:",
    Aws.PARTITION,
    ":kafka:",
    p.region,
    ":",
    p.account,
    `:${kind}/`,
    p.name,
    "/",
    p.uuid,
    `/${name}`,
  ]);
}

export const topicArn = (clusterArn: string, topic: string): string => kafkaArn(clusterArn, "topic", topic);
export const groupArn = (clusterArn: string, group: string): string => kafkaArn(clusterArn, "group", group);

export interface KafkaGrant {
  /** Topics read with a consumer group. */
  consume?: { topic: string; group: string }[];
  /** Consumer groups matched by a name prefix (e.g. one group per inference task). */
  consumeGroupPrefixes?: { topic: string; groupPrefix: string }[];
  /** Topics written. */
  produce?: string[];
  /** Topics created or altered (deploy-time custom resource). */
  admin?: string[];
}

/** Adds the statements for `grant` to `principal`'s policy. */
export function grantKafka(principal: iam.IGrantable, clusterArn: string, grant: KafkaGrant): void {
  const add = (statement: iam.PolicyStatement) => principal.grantPrincipal.addToPrincipalPolicy(statement);
  /** `actions` on the topics named (duplicates dropped); nothing when there are none. */
  const onTopics = (sid: string, actions: string[], topics: readonly string[]) => {
    const unique = [...new Set(topics)];
    if (unique.length)
      add(new iam.PolicyStatement({ sid, actions, resources: unique.map((t) => topicArn(clusterArn, t)) }));
  };
  add(
    new iam.PolicyStatement({
      sid: "MskConnect",
      actions: [
        "kafka-cluster:Connect",
        "kafka-cluster:DescribeCluster",
        ...(grant.produce?.length ? ["kafka-cluster:WriteDataIdempotently"] : []),
        // Lambda's MSK event-source mapping reads the cluster's dynamic configuration (IAM auth).
        ...(grant.consume?.length ? ["kafka-cluster:DescribeClusterDynamicConfiguration"] : []),
      ],
      resources: [clusterArn],
    }),
  );
  add(
    new iam.PolicyStatement({
      sid: "MskBootstrap",
      actions: ["kafka:GetBootstrapBrokers", "kafka:DescribeClusterV2", "kafka:DescribeCluster"],
      resources: [clusterArn],
    }),
  );
  const consume = grant.consume ?? [];
  const prefixed = grant.consumeGroupPrefixes ?? [];
  const readTopics = [...consume.map((c) => c.topic), ...prefixed.map((c) => c.topic)];
  onTopics("MskReadTopics", ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], readTopics);
  if (readTopics.length) {
    add(
      new iam.PolicyStatement({
        sid: "MskConsumerGroups",
        actions: ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
        resources: [
          ...consume.map((c) => groupArn(clusterArn, c.group)),
          ...prefixed.map((c) => groupArn(clusterArn, `${c.groupPrefix}*`)),
        ],
      }),
    );
  }
  if (prefixed.length) {
    // Per-replica groups are removed when the replica stops (functions/inference/promotion-listener.ts).
    add(
      new iam.PolicyStatement({
        sid: "MskDeleteOwnGroups",
        actions: ["kafka-cluster:DeleteGroup"],
        resources: prefixed.map((c) => groupArn(clusterArn, `${c.groupPrefix}*`)),
      }),
    );
  }
  if (prefixed.length && Construct.isConstruct(principal.grantPrincipal)) {
    acknowledge(principal.grantPrincipal, [
      {
        id: "AwsSolutions-IAM5",
        reason: `Consumer groups named ${prefixed.map((p) => `'${p.groupPrefix}*'`).join(", ")} only: each replica uses its own group so every replica hears every message.`,
        findings: new RegExp(
          `:group\\/.*\\/(${prefixed.map((p) => p.groupPrefix.replace(/[-.]/g, "\\$&")).join("|")})\\*$`,
        ),
      },
    ]);
  }
  onTopics("MskWriteTopics", ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], grant.produce ?? []);
  onTopics(
    "MskAdminTopics",
    [
      "kafka-cluster:CreateTopic",
      "kafka-cluster:DescribeTopic",
      "kafka-cluster:DescribeTopicDynamicConfiguration",
      "kafka-cluster:AlterTopic",
    ],
    grant.admin ?? [],
  );
}
