import { spawnSync } from "node:child_process";

const installHints: Record<string, string> = {
  java: "Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)",
  mvn: "Apache Maven 3.8+ (Debian: apt-get install maven)",
  go: "Go 1.24 or newer (https://go.dev/doc/install, or Debian: apt-get install golang)",
  "python3.11": "Python 3.11 (Debian: apt-get install python3.11 python3.11-venv; or set FLTS_PYTHON)",
  python3: "Python 3.11 (Debian: apt-get install python3 python3-venv)",
};

export class MissingPrerequisiteError extends Error {}

/** Throws, naming the tool and how to install it, when `tool` is not on PATH. */
export function requireTool(tool: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${JSON.stringify(tool)}`], { encoding: "utf8" });
  if (found.status !== 0) {
    const hint = installHints[tool] ?? tool;
    throw new MissingPrerequisiteError(`missing prerequisite: '${tool}' is not on PATH. Install ${hint}.`);
  }
}
