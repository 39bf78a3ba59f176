/**
 * Keeps a local CLI's terminal for people: every structured log line this process writes (a JSON
 * object on one line: Powertools Logger and EMF metrics of the stages, kafkajs) goes to
 * `.flts/logs/<service>.log` instead of stdout/stderr; every other line passes through unchanged.
 * The stages keep logging to stdout exactly as they do in Lambda; only the local process routes it.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { logsDir } from "./paths.ts";

export type LogRecordListener = (record: Record<string, unknown>) => void;

const FILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** The file a record belongs in: its `service` (Powertools), `logger` (kafkajs), else `local`. */
function fileOf(record: Record<string, unknown>): string {
  const name = record.service ?? record.logger ?? record.serviceName;
  return typeof name === "string" && FILE_NAME.test(name) ? name : "local";
}

export function asRecord(line: string): Record<string, unknown> | null {
  if (!line.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function routeStream(stream: NodeJS.WriteStream, dir: string, listeners: LogRecordListener[]): void {
  const write = stream.write.bind(stream) as (chunk: string, done?: () => void) => boolean;
  let pending = "";
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    pending += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    const passed: string[] = [];
    for (const line of lines) {
      const record = asRecord(line);
      if (!record) {
        passed.push(line);
        continue;
      }
      appendFileSync(join(dir, `${fileOf(record)}.log`), `${line}\n`);
      for (const listener of listeners) listener(record);
    }
    const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
    if (passed.length) return write(`${passed.join("\n")}\n`, done);
    done?.();
    return true;
  }) as typeof stream.write;
}

/** Installs the routing on this process's stdout and stderr; returns the directory of the log files. */
export function routeLogsToFiles(listeners: LogRecordListener[] = [], dir = logsDir): string {
  mkdirSync(dir, { recursive: true });
  routeStream(process.stdout, dir, listeners);
  routeStream(process.stderr, dir, listeners);
  return dir;
}
