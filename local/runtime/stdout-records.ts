/**
 * The structured lines this process writes to stdout (JSON objects: the functions' Powertools log
 * lines and EMF records), handed to listeners as they are written. Everything is still written on,
 * unchanged, to whatever stdout was (the terminal, or local/log-files.ts's routing).
 */
import { asRecord } from "../log-files.ts";

export type StdoutRecordListener = (record: Record<string, unknown>) => void;

const listeners = new Set<StdoutRecordListener>();
let installed = false;

function install(): void {
  installed = true;
  const stdout = process.stdout;
  const write = stdout.write.bind(stdout) as (...args: unknown[]) => boolean;
  let pending = "";
  stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (listeners.size > 0) {
      pending += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const record = asRecord(line);
        if (record) for (const listener of listeners) listener(record);
      }
    }
    return write(chunk, ...rest);
  }) as typeof stdout.write;
}

/** Calls `listener` with every structured stdout line from now on; returns the way to stop. */
export function onStdoutRecords(listener: StdoutRecordListener): () => void {
  if (!installed) install();
  listeners.add(listener);
  return () => listeners.delete(listener);
}
