/** The fault suite's own Kafka and MinIO (and trainer venv), stopped and removed afterwards. */
import { rmSync } from "node:fs";
import { stateDir } from "../../local/paths.ts";
import { ensureTrainerVenv } from "../../local/python-env.ts";
import { down, ensureLocalServices } from "../../local/services/index.ts";

export async function setup(): Promise<void> {
  await ensureLocalServices();
  await ensureTrainerVenv();
}

export async function teardown(): Promise<void> {
  await down();
  rmSync(stateDir, { recursive: true, force: true });
}
