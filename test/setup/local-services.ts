/**
 * Global setup of the `integration` project: the real Kafka and MinIO (started when not up), with every
 * topic the manifest names (also on a system provisioned before a topic was added).
 */
import { localServiceSettings } from "../../local/services/env.ts";
import { ensureLocalServices } from "../../local/services/index.ts";
import { ensureTopics } from "../../local/services/provision.ts";

export default async function setup(): Promise<void> {
  await ensureLocalServices();
  await ensureTopics(localServiceSettings());
}
