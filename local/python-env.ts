import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, repoRoot } from "./paths.ts";
import { requireTool } from "./prerequisites.ts";

export const trainerDir = join(repoRoot, "functions", "train");
const requirementsFile = join(trainerDir, "requirements.lock");

function pinsDigest(python: string): string {
  const version = spawnSync(python, ["--version"], { encoding: "utf8" }).stdout.trim();
  return createHash("sha256")
    .update(readFileSync(requirementsFile))
    .update(version)
    .digest("hex")
    .slice(0, 16);
}

export function venvPython(venv: string): string {
  return join(venv, "bin", "python");
}

/**
 * Returns the trainer virtualenv for the current pins, creating it when missing.
 * The venv lives in the cache, keyed by a digest of `requirements.lock` and the interpreter version,
 * so a change of pins builds a new one and a clone with the same pins reuses it.
 */
export function ensureTrainerVenv(log: (line: string) => void = console.error): string {
  const python = process.env.FLTS_PYTHON ?? "python3.11";
  requireTool(python === "python3.11" ? "python3.11" : python);
  const venv = join(cacheDir, "venv", pinsDigest(python));
  if (existsSync(join(venv, ".complete"))) return venv;
  log(`[venv] creating trainer virtualenv ${venv} (first run downloads PyTorch and Prophet; a few minutes)`);
  // A venv without its `.complete` marker is a broken earlier attempt: start it again.
  rmSync(venv, { recursive: true, force: true });
  run(python, ["-m", "venv", venv]);
  const pip = [
    venvPython(venv),
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--progress-bar",
    "off",
  ];
  run(pip[0] as string, [...pip.slice(1), "-q", "--upgrade", "pip"]);
  run(pip[0] as string, [...pip.slice(1), "-r", requirementsFile]);
  writeFileSync(join(venv, ".complete"), new Date().toISOString());
  log(`[venv] ready: ${venv}`);
  return venv;
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed with exit code ${result.status}`);
  }
}
