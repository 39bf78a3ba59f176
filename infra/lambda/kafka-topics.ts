/**
 * Deploy-time custom resource: creates the FLTS topics (and their DLQ-<topic>) on the MSK cluster
 * over the IAM listener. Existing topics are left as they are; deleting the stack keeps the topics
 * (their data outlives a redeploy). Runs behind the CDK Provider framework, which handles the
 * CloudFormation response.
 */
import { createKafka } from "../../functions/common/kafka.ts";

interface Props {
  ClusterArn: string;
  Topics: string[];
  Partitions: string | number;
}

interface ProviderEvent {
  RequestType: "Create" | "Update" | "Delete";
  PhysicalResourceId?: string;
  ResourceProperties: Props & { ServiceToken: string };
}

export async function handler(
  event: ProviderEvent,
): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const props = event.ResourceProperties;
  const physicalId = event.PhysicalResourceId ?? `flts-topics:${props.ClusterArn}`;
  if (event.RequestType === "Delete") return { PhysicalResourceId: physicalId };

  const region = process.env.AWS_REGION ?? "us-east-1";
  const kafka = await createKafka(
    { brokers: [], auth: "iam", clusterArn: props.ClusterArn, clientId: "flts-topics", region },
    "flts-topics",
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const partitions = Number(props.Partitions);
    const missing = props.Topics.filter((t) => !existing.has(t));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: partitions })),
      });
    }
    console.log(JSON.stringify({ msg: "kafka_topics_ready", created: missing, existing: [...existing] }));
    return { PhysicalResourceId: physicalId, Data: { Created: missing.join(",") } };
  } finally {
    await admin.disconnect();
  }
}
