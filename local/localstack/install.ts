/**
 * LocalStack's virtualenv in the shared cache, keyed by the pinned requirement, its constraints and the
 * interpreter (like local/python-env.ts keys the trainer venv), built once with pip.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, repoRoot, stateDir } from "../paths.ts";
import { delay, isAlive } from "../services/processes.ts";
import { localstackInterpreter } from "./python.ts";

const pinsDir = join(repoRoot, "local", "localstack");
export const requirementsFile = join(pinsDir, "requirements.txt");
export const constraintsFile = join(pinsDir, "constraints.txt");
export const installLog = join(stateDir, "logs", "localstack-install.log");

/** The pinned localstack-core version (local/localstack/requirements.txt). */
export function localstackPinnedVersion(): string {
  const match = /^localstack-core\[runtime\]==(\S+)$/m.exec(readFileSync(requirementsFile, "utf8"));
  if (!match?.[1]) throw new Error(`${requirementsFile}: no 'localstack-core[runtime]==<version>' line`);
  return match[1];
}

function digest(python: string): string {
  const version = spawnSync(python, ["--version"], { encoding: "utf8" }).stdout.trim();
  return createHash("sha256")
    .update(readFileSync(requirementsFile))
    .update(readFileSync(constraintsFile))
    .update(version)
    .digest("hex")
    .slice(0, 16);
}

export function localstackVenvDir(python = localstackInterpreter()): string {
  return join(cacheDir, "localstack", `venv-${digest(python)}`);
}

export function localstackPython(venv: string): string {
  return join(venv, "bin", "python");
}

/** The venv's python when it is complete, else null (nothing is built). */
export function installedLocalstackPython(): string | null {
  try {
    const venv = localstackVenvDir();
    return existsSync(join(venv, ".complete")) ? localstackPython(venv) : null;
  } catch {
    return null;
  }
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

/** Returns the venv's python, building the venv first when it is missing (about 90 s cold, 40 s warm). */
export async function ensureLocalstackVenv(log: (line: string) => void): Promise<string> {
  const python = localstackInterpreter();
  const venv = localstackVenvDir(python);
  if (existsSync(join(venv, ".complete"))) return localstackPython(venv);
  mkdirSync(join(stateDir, "logs"), { recursive: true });
  // One builder per cache directory; other clones wait for it (the lock's pid says who holds it).
  const lock = `${venv}.lock`;
  mkdirSync(join(cacheDir, "localstack"), { recursive: true });
  const deadline = Date.now() + 900_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      const holder = Number(existsSync(join(lock, "pid")) ? readFileSync(join(lock, "pid"), "utf8") : "");
      if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) rmSync(lock, { recursive: true });
      else if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${lock} (held by pid ${holder})`);
      else await delay(1000); // polling the other builder's lock, with a deadline
    }
  }
  try {
    if (!existsSync(join(venv, ".complete"))) {
      log(
        `[localstack] installing localstack-core ${localstackPinnedVersion()} into ${venv} (log: ${installLog})`,
      );
      rmSync(venv, { recursive: true, force: true });
      run(python, ["-m", "venv", venv], installLog);
      const pip = [localstackPython(venv), "-m", "pip", "--disable-pip-version-check"];
      run(
        pip[0] as string,
        [...pip.slice(1), "install", "--progress-bar", "off", "-r", requirementsFile, "-c", constraintsFile],
        installLog,
      );
      run(pip[0] as string, [...pip.slice(1), "check"], installLog);
      writeFileSync(join(venv, ".complete"), new Date().toISOString());
      log(`[localstack] installed (pip check clean)`);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return localstackPython(venv);
}
