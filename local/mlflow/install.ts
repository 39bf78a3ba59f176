/**
 * The MLflow tracking server's virtualenv (local/pinned-venv.ts): `mlflow` and `boto3` (for artifacts
 * in MinIO) pinned in local/mlflow/requirements.txt, every other package in constraints.txt, built with
 * the trainer's interpreter (local/python-env.ts; MLflow supports it).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../paths.ts";
import { ensurePinnedVenv, type PinnedVenvSpec } from "../pinned-venv.ts";
import { trainerInterpreter } from "../python-env.ts";

const pinsDir = join(repoRoot, "local", "mlflow");
const requirementsFile = join(pinsDir, "requirements.txt");

/** The pinned mlflow version (local/mlflow/requirements.txt). */
export function mlflowPinnedVersion(): string {
  const match = /^mlflow==(\S+)$/m.exec(readFileSync(requirementsFile, "utf8"));
  if (!match?.[1]) throw new Error(`${requirementsFile}: no 'mlflow==<version>' line`);
  return match[1];
}

export const MLFLOW_VENV: PinnedVenvSpec = {
  name: "mlflow",
  describe: () => `mlflow ${mlflowPinnedVersion()}`,
  requirements: requirementsFile,
  constraints: join(pinsDir, "constraints.txt"),
  interpreter: trainerInterpreter,
};

/** Returns the venv's python, building the venv first when it is missing (a few minutes cold). */
export function ensureMlflowVenv(log: (line: string) => void): Promise<string> {
  return ensurePinnedVenv(MLFLOW_VENV, log);
}
