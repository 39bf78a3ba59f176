/** Detached service processes tracked by pid files under the state directory. */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { logsDir, stateDir } from "../paths.ts";

export function pidFile(service: string): string {
  return join(stateDir, `${service}.pid`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of a running service, or null (removing a stale pid file). */
export function runningPid(service: string): number | null {
  const file = pidFile(service);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid;
  rmSync(file, { force: true });
  return null;
}

export interface DetachedSpec {
  service: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export function serviceLog(service: string): string {
  return join(logsDir, `${service}.log`);
}

/** Starts a process in its own process group with output to `<state>/logs/<service>.log`. */
export function startDetached(spec: DetachedSpec): number {
  mkdirSync(logsDir, { recursive: true });
  const logPath = serviceLog(spec.service);
  const out = openSync(logPath, "a");
  const child = spawn(spec.command, spec.args, {
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, ...spec.env },
    cwd: spec.cwd,
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${spec.service} (${spec.command})`);
  child.unref();
  writeFileSync(pidFile(spec.service), String(child.pid));
  return child.pid;
}

/** SIGTERM to the service's process group, then SIGKILL if it has not exited in time. */
export async function stopService(service: string, graceMs = 15_000): Promise<boolean> {
  const pid = runningPid(service);
  if (pid === null) return false;
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) signalGroup(pid, "SIGKILL");
  while (isAlive(pid)) await delay(50);
  rmSync(pidFile(service), { force: true });
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Polls `check` until it holds or `timeoutMs` passes; `describe` names what was awaited in the error. */
export async function waitFor(
  describe: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  onTimeoutHint = "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await delay(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${describe}${onTimeoutHint}`);
}

/** Runs `fn` while holding an exclusive lock directory (stale locks of dead holders are broken). */
export async function withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 900_000): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const lock = join(stateDir, `${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      const holder = Number(readFileSafe(join(lock, "pid")));
      if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lock}`);
      await delay(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}
