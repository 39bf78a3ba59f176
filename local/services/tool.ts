/** Runs an install tool (mvn, go, pip) with its output in a log file and its lines offered to a progress callback. */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { logsDir } from "../paths.ts";

/** What a long step reports while it works: one short line for people. */
export type Progress = (line: string) => void;

export interface ToolRun {
  command: string;
  args: string[];
  /** File name under `.flts/logs/` for the tool's whole output. */
  log: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each output line (stdout and stderr), for progress. */
  onLine?: (line: string) => void;
}

export class ToolError extends Error {}

export function toolLog(name: string): string {
  return join(logsDir, name);
}

/** Resolves when the tool exits 0; rejects naming the command, its exit code, its last lines and its log. */
export function runTool(run: ToolRun): Promise<void> {
  mkdirSync(logsDir, { recursive: true });
  const logPath = toolLog(run.log);
  const log = createWriteStream(logPath, { flags: "a" });
  log.write(`\n$ ${run.command} ${run.args.join(" ")}\n`);
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn(run.command, run.args, {
      cwd: run.cwd,
      env: run.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        log.write(`${line}\n`);
        tail.push(line);
        if (tail.length > 5) tail.shift();
        run.onLine?.(line);
      });
    }
    child.once("error", (error) => {
      log.end();
      reject(new ToolError(`cannot run ${run.command}: ${error.message}`));
    });
    child.once("close", (code) => {
      log.end(() => {
        if (code === 0) resolve();
        else
          reject(
            new ToolError(
              `${run.command} ${run.args.slice(0, 3).join(" ")} failed with exit code ${code}: ${tail.join(" | ")} (log: ${logPath})`,
            ),
          );
      });
    });
  });
}

/** Counts the lines that match `pattern` and reports `<count> <noun>` (e.g. "12 modules downloaded"). */
export function counting(pattern: RegExp, describe: (count: number) => string, progress?: Progress) {
  let count = 0;
  return (line: string) => {
    if (!pattern.test(line)) return;
    count += 1;
    progress?.(describe(count));
  };
}
