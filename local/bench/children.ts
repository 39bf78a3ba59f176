/** Bench child processes on loopback: started with tsx's loader, found by the port they announce. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface Child {
  child: ChildProcess;
  url: string;
}

/** The port a child announces on stdout: `{"port": n}` or the service's `inference_listening` log. */
function announcedPort(line: string): number | undefined {
  if (!line.startsWith("{")) return undefined;
  const parsed = JSON.parse(line) as { port?: number; message?: string };
  if (line.startsWith('{"port"') || parsed.message === "inference_listening") return parsed.port;
  return undefined;
}

/** Runs `node <execArgv> [BENCH_CHILD_NODE_ARGS] ...script` and resolves once it listens. */
export async function startChild(script: string[], env: Record<string, string>): Promise<Child> {
  const extra = process.env.BENCH_CHILD_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...process.execArgv, ...extra, ...script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const port = announcedPort(line);
    if (port === undefined) continue;
    // Keep draining the child's stdout (its structured logs): a full pipe would block it.
    lines.close();
    child.stdout?.resume();
    return { child, url: `http://127.0.0.1:${port}` };
  }
  throw new Error(`${script.join(" ")} exited before listening (code ${child.exitCode})`);
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Polls `/readyz` until 200: a bounded readiness wait before load starts. */
export async function waitReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service at ${url} not ready within ${timeoutMs} ms`);
}
