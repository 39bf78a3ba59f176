/**
 * A virtualenv in the shared cache for a local tool run from PyPI (LocalStack, MLflow), keyed by its
 * pinned requirement, its constraints and the interpreter (like local/python-env.ts keys the trainer
 * venv), built once with pip under a lock that other clones wait for.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, stateDir } from "./paths.ts";
import { delay, isAlive } from "./services/processes.ts";

export interface PinnedVenvSpec {
  /** The cache folder under the cache directory, and the prefix of log lines and of the install log. */
  name: string;
  /** What is installed, for the progress line (`localstack-core 2026.3.0`). */
  describe: () => string;
  /** pip `-r` file. */
  requirements: string;
  /** pip `-c` file (every transitive package pinned). */
  constraints: string;
  /** The interpreter to build the venv with (throws MissingPrerequisiteError when there is none). */
  interpreter: () => string;
}

export function installLogOf(spec: PinnedVenvSpec): string {
  return join(stateDir, "logs", `${spec.name}-install.log`);
}

function digest(spec: PinnedVenvSpec, python: string): string {
  const version = spawnSync(python, ["--version"], { encoding: "utf8" }).stdout.trim();
  return createHash("sha256")
    .update(readFileSync(spec.requirements))
    .update(readFileSync(spec.constraints))
    .update(version)
    .digest("hex")
    .slice(0, 16);
}

export function pinnedVenvDir(spec: PinnedVenvSpec, python = spec.interpreter()): string {
  return join(cacheDir, spec.name, `venv-${digest(spec, python)}`);
}

export function venvPythonOf(venv: string): string {
  return join(venv, "bin", "python");
}

function run(command: string, args: string[], log: string): void {
  const out = openSync(log, "a");
  try {
    const result = spawnSync(command, args, { stdio: ["ignore", out, out] });
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}); see ${log}`);
  } finally {
    closeSync(out);
  }
}

/** One builder per cache directory; other clones wait for it (the lock's pid says who holds it). */
async function lock(path: string): Promise<void> {
  const deadline = Date.now() + 900_000;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, "pid"), String(process.pid));
      return;
    } catch {
      const holder = Number(existsSync(join(path, "pid")) ? readFileSync(join(path, "pid"), "utf8") : "");
      if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) rmSync(path, { recursive: true });
      else if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${path} (held by pid ${holder})`);
      else await delay(1000); // polling the other builder's lock, with a deadline
    }
  }
}

/** Returns the venv's python, building the venv first when it is missing. */
export async function ensurePinnedVenv(spec: PinnedVenvSpec, log: (line: string) => void): Promise<string> {
  const python = spec.interpreter();
  const venv = pinnedVenvDir(spec, python);
  if (existsSync(join(venv, ".complete"))) return venvPythonOf(venv);
  const installLog = installLogOf(spec);
  mkdirSync(join(stateDir, "logs"), { recursive: true });
  mkdirSync(join(cacheDir, spec.name), { recursive: true });
  await lock(`${venv}.lock`);
  try {
    if (!existsSync(join(venv, ".complete"))) {
      log(`[${spec.name}] installing ${spec.describe()} into ${venv} (log: ${installLog})`);
      rmSync(venv, { recursive: true, force: true });
      run(python, ["-m", "venv", venv], installLog);
      const pip = [venvPythonOf(venv), "-m", "pip", "--disable-pip-version-check"];
      run(
        pip[0] as string,
        [
          ...pip.slice(1),
          "install",
          "--progress-bar",
          "off",
          "-r",
          spec.requirements,
          "-c",
          spec.constraints,
        ],
        installLog,
      );
      run(pip[0] as string, [...pip.slice(1), "check"], installLog);
      writeFileSync(join(venv, ".complete"), new Date().toISOString());
      log(`[${spec.name}] installed (pip check clean)`);
    }
  } finally {
    rmSync(`${venv}.lock`, { recursive: true, force: true });
  }
  return venvPythonOf(venv);
}
