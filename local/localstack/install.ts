/**
 * LocalStack's virtualenv in the shared cache (local/pinned-venv.ts), keyed by the pinned requirement,
 * its constraints and the Python 3.13 interpreter, built once with pip.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../paths.ts";
import { ensurePinnedVenv, type PinnedVenvSpec } from "../pinned-venv.ts";
import { localstackInterpreter } from "./python.ts";

const pinsDir = join(repoRoot, "local", "localstack");
export const requirementsFile = join(pinsDir, "requirements.txt");
export const constraintsFile = join(pinsDir, "constraints.txt");

/** The pinned localstack-core version (local/localstack/requirements.txt). */
export function localstackPinnedVersion(): string {
  const match = /^localstack-core\[runtime\]==(\S+)$/m.exec(readFileSync(requirementsFile, "utf8"));
  if (!match?.[1]) throw new Error(`${requirementsFile}: no 'localstack-core[runtime]==<version>' line`);
  return match[1];
}

const LOCALSTACK_VENV: PinnedVenvSpec = {
  name: "localstack",
  describe: () => `localstack-core ${localstackPinnedVersion()}`,
  requirements: requirementsFile,
  constraints: constraintsFile,
  interpreter: localstackInterpreter,
};
/** Returns the venv's python, building the venv first when it is missing (about 90 s cold, 40 s warm). */
export function ensureLocalstackVenv(log: (line: string) => void): Promise<string> {
  return ensurePinnedVenv(LOCALSTACK_VENV, log);
}
