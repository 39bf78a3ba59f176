import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, repoRoot } from "./paths.ts";
import { requireTool } from "./prerequisites.ts";
import { delay, isAlive } from "./services/processes.ts";
import { type Progress, runTool } from "./services/tool.ts";

export const trainerDir = join(repoRoot, "functions", "train");
/** The image's pinned environment, then the development tools (ruff, mypy), which only the local venv gets. */
const requirementFiles = ["requirements.lock", "requirements-dev.lock"].map((f) => join(trainerDir, f));

function pinsDigest(python: string): string {
  const version = spawnSync(python, ["--version"], { encoding: "utf8" }).stdout.trim();
  const hash = createHash("sha256");
  for (const file of requirementFiles) hash.update(readFileSync(file));
  return hash.update(version).digest("hex").slice(0, 16);
}

export function venvPython(venv: string): string {
  return join(venv, "bin", "python");
}

/**
 * Returns the trainer virtualenv for the current pins, creating it when missing.
 * The venv lives in the cache, keyed by a digest of the two lock files and the interpreter version,
 * so a change of pins builds a new one and a clone with the same pins reuses it.
 */
export async function ensureTrainerVenv(progress?: Progress): Promise<string> {
  return (await prepareTrainerVenv(progress)).venv;
}

/** As `ensureTrainerVenv`, saying whether the venv was already there. */
export async function prepareTrainerVenv(progress?: Progress): Promise<{ venv: string; cached: boolean }> {
  const python = trainerInterpreter();
  const venv = join(cacheDir, "venv", pinsDigest(python));
  if (existsSync(join(venv, ".complete"))) return { venv, cached: true };
  const lock = `${venv}.lock`;
  mkdirSync(join(cacheDir, "venv"), { recursive: true });
  while (!tryLock(lock)) {
    progress?.("waiting for another process that is building the trainer venv");
    await delay(1000);
  }
  try {
    if (existsSync(join(venv, ".complete"))) return { venv, cached: true };
    await buildVenv(python, venv, progress);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return { venv, cached: false };
}

/** FLTS_PYTHON, else python3.11, else a python3 that is 3.11 (the trainer image's version). */
export function trainerInterpreter(): string {
  if (process.env.FLTS_PYTHON) {
    requireTool(process.env.FLTS_PYTHON);
    return process.env.FLTS_PYTHON;
  }
  if (spawnSync("python3.11", ["--version"]).status === 0) return "python3.11";
  requireTool("python3");
  const version = spawnSync("python3", ["-c", "import sys; print(sys.version_info[:2] >= (3, 11))"], {
    encoding: "utf8",
  }).stdout.trim();
  if (version !== "True") requireTool("python3.11");
  return "python3";
}

/** Takes a lock directory, breaking it when the process that holds it is gone. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, "pid"), String(process.pid));
    return true;
  } catch {
    const holder = Number(existsSync(join(lock, "pid")) ? readFileSync(join(lock, "pid"), "utf8") : "");
    if (Number.isInteger(holder) && holder > 0 && !isAlive(holder))
      rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

async function buildVenv(python: string, venv: string, progress?: Progress): Promise<void> {
  progress?.("creating the trainer virtualenv (first run downloads PyTorch and Prophet; a few minutes)");
  // A venv without its `.complete` marker is a broken earlier attempt: start it again.
  rmSync(venv, { recursive: true, force: true });
  const log = "trainer-venv.log";
  await runTool({ command: python, args: ["-m", "venv", venv], log });
  const pip = [
    venvPython(venv),
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--progress-bar",
    "off",
  ];
  await runTool({ command: pip[0] as string, args: [...pip.slice(1), "-q", "--upgrade", "pip"], log });
  await runTool({
    command: pip[0] as string,
    args: [...pip.slice(1), ...requirementFiles.flatMap((file) => ["-r", file])],
    log,
    onLine: (line) => {
      if (line.startsWith("Collecting ")) progress?.(`collecting ${line.slice(11).split(" ")[0]}`);
      else if (line.startsWith("Installing collected packages")) progress?.("installing the packages");
    },
  });
  writeFileSync(join(venv, ".complete"), new Date().toISOString());
}

/** What `npm run check` runs on the trainer: ruff (lint and format) and mypy --strict (settings in pyproject.toml). */
const PYTHON_CHECKS: readonly (readonly string[])[] = [
  ["ruff", "check", "src", "tests", "scripts"],
  ["ruff", "format", "--check", "src", "tests", "scripts"],
  ["mypy", "src", "tests", "scripts"],
];

/** Runs every Python check in the trainer venv (building it when missing); the first failing exit code, else 0. */
export async function checkTrainer(progress?: Progress): Promise<number> {
  const python = venvPython(await ensureTrainerVenv(progress));
  const env = {
    ...process.env,
    MYPY_CACHE_DIR: join(cacheDir, "mypy"),
    RUFF_CACHE_DIR: join(cacheDir, "ruff"),
  };
  const codes = PYTHON_CHECKS.map((args) => {
    const result = spawnSync(python, ["-m", ...args], { cwd: trainerDir, stdio: "inherit", env });
    return result.status ?? 1;
  });
  return codes.find((code) => code !== 0) ?? 0;
}
