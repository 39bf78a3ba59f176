import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  const python = trainerInterpreter();
  const venv = join(cacheDir, "venv", pinsDigest(python));
  if (existsSync(join(venv, ".complete"))) return venv;
  const lock = `${venv}.lock`;
  mkdirSync(join(cacheDir, "venv"), { recursive: true });
  while (!tryLock(lock)) sleepSync(1000);
  try {
    if (!existsSync(join(venv, ".complete"))) buildVenv(python, venv, log);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return venv;
}

/** FLTS_PYTHON, else python3.11, else a python3 that is 3.11 (the trainer image's version). */
function trainerInterpreter(): string {
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
    if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder))
      rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function buildVenv(python: string, venv: string, log: (line: string) => void): void {
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
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed with exit code ${result.status}`);
  }
}
