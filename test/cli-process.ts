/** Runs one of the project's CLIs (`local/<script>.ts`) as a person would, collecting its output. */
import { spawn } from "node:child_process";
import { join } from "node:path";

const repo = join(import.meta.dirname, "..");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** No standard input; rejects (killing the CLI) when it runs past `timeoutMs`. */
export function runCli(
  script: string,
  args: string[],
  { env = {}, timeoutMs = 600_000 }: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: repo,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`${script} did not finish in ${timeoutMs} ms; stderr tail:\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON object a CLI prints as its last stdout line. */
export function lastJsonLine<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as T;
}
