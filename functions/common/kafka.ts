/** The one Kafka client module: plaintext locally, IAM (OAUTHBEARER) on Amazon MSK. */
import { GetBootstrapBrokersCommand, KafkaClient } from "@aws-sdk/client-kafka";
import { generateAuthToken } from "aws-msk-iam-sasl-signer-js";
import { Kafka, type KafkaConfig as KafkaJsConfig, logLevel, type Producer } from "kafkajs";
import type { z } from "zod";
import type { KafkaConfig } from "./config.ts";
import { parseContract } from "./contracts.ts";

/** Bootstrap brokers: the configured list, or those of the MSK cluster named by ARN (IAM listener). */
export async function resolveBrokers(config: KafkaConfig): Promise<string[]> {
  if (!config.clusterArn) return config.brokers;
  const msk = new KafkaClient({ region: config.region });
  const out = await msk.send(new GetBootstrapBrokersCommand({ ClusterArn: config.clusterArn }));
  const list = out.BootstrapBrokerStringSaslIam ?? out.BootstrapBrokerStringPublicSaslIam;
  if (!list) throw new Error(`MSK cluster ${config.clusterArn} has no IAM bootstrap brokers`);
  return list.split(",");
}

export async function createKafka(config: KafkaConfig, clientId = config.clientId): Promise<Kafka> {
  const brokers = await resolveBrokers(config);
  const base: KafkaJsConfig = {
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: { retries: 8, initialRetryTime: 200 },
  };
  if (config.auth === "iam") {
    return new Kafka({
      ...base,
      ssl: true,
      sasl: {
        mechanism: "oauthbearer",
        oauthBearerProvider: async () => {
          const token = await generateAuthToken({ region: config.region });
          return { value: token.token };
        },
      },
    });
  }
  return new Kafka(base);
}

/** Validates `message` against the topic's schema and publishes it as JSON. */
export async function publish<S extends z.ZodType>(
  producer: Producer,
  topic: string,
  schema: S,
  message: z.input<S>,
  key?: string,
): Promise<z.output<S>> {
  const valid = parseContract(schema, `${topic} message`, message);
  await producer.send({ topic, messages: [{ key: key ?? null, value: JSON.stringify(valid) }] });
  return valid;
}
