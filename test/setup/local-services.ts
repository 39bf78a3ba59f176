/** Vitest global setup: the real Kafka and MinIO (started when not up) and the trainer venv. */
import { ensureLocalServices } from "../../local/services/index.ts";

export default async function setup(): Promise<void> {
  await ensureLocalServices();
}
