/** The fault suite's own Kafka and MinIO (and trainer venv), stopped and removed afterwards. */
import { rmSync } from "node:fs";
import { stateDir } from "../../local/paths.ts";
import { ensureTrainerVenv } from "../../local/python-env.ts";
import { down, ensureLocalServices } from "../../local/services/index.ts";

export async function setup(): Promise<void> {
  await ensureLocalServices();
  await ensureTrainerVenv();
}

/** Stops the suite's services; its state and logs are removed unless FLTS_FAULTS_STATE_DIR chose where they go. */
export async function teardown(): Promise<void> {
  await down();
  if (!process.env.FLTS_FAULTS_STATE_DIR) rmSync(stateDir, { recursive: true, force: true });
}
