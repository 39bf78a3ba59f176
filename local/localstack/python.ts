/** The Python 3.13 LocalStack runs on: FLTS_LOCALSTACK_PYTHON, else python3.13 on PATH, else pyenv's versions. */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { MissingPrerequisiteError } from "../prerequisites.ts";

export const LOCALSTACK_PYTHON_VERSION = "3.13";

const installHint =
  "Install Python 3.13 (pyenv: `pyenv install 3.13`; Debian: apt-get install python3.13 python3.13-venv) " +
  "or set FLTS_LOCALSTACK_PYTHON to a Python 3.13 interpreter";

/** The interpreter's real path when it runs and is 3.13, else null. */
function probe(command: string): string | null {
  const result = spawnSync(
    command,
    ["-c", "import sys; print(sys.executable if sys.version_info[:2] == (3, 13) else '')"],
    { encoding: "utf8", timeout: 10_000 },
  );
  const executable = result.status === 0 ? result.stdout.trim() : "";
  return executable === "" ? null : executable;
}

function pyenvRoot(): string {
  const result = spawnSync("pyenv", ["root"], { encoding: "utf8", timeout: 10_000 });
  const root = result.status === 0 ? result.stdout.trim() : "";
  return root || process.env.PYENV_ROOT || join(homedir(), ".pyenv");
}

function pyenvCandidates(): string[] {
  const versions = join(pyenvRoot(), "versions");
  if (!existsSync(versions)) return [];
  return readdirSync(versions)
    .filter((name) => name.startsWith(`${LOCALSTACK_PYTHON_VERSION}.`))
    .sort()
    .reverse()
    .map((name) => join(versions, name, "bin", `python${LOCALSTACK_PYTHON_VERSION}`));
}

/** Throws MissingPrerequisiteError, naming Python 3.13 and what to install, when none is found. */
export function localstackInterpreter(): string {
  const chosen = process.env.FLTS_LOCALSTACK_PYTHON;
  if (chosen) {
    const found = probe(chosen);
    if (!found)
      throw new MissingPrerequisiteError(
        `missing prerequisite: FLTS_LOCALSTACK_PYTHON='${chosen}' is not a Python 3.13 interpreter. ${installHint}.`,
      );
    return found;
  }
  for (const candidate of [`python${LOCALSTACK_PYTHON_VERSION}`, ...pyenvCandidates()]) {
    const found = probe(candidate);
    if (found) return found;
  }
  throw new MissingPrerequisiteError(
    `missing prerequisite: Python 3.13 (LocalStack needs it; 3.11 and 3.12 do not run it) is not on PATH ` +
      `nor under ${join(pyenvRoot(), "versions")}. ${installHint}.`,
  );
}
