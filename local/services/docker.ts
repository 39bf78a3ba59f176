/** The Docker Compose path, for machines where a Docker engine answers. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../paths.ts";

const composeFile = join(repoRoot, "local", "docker-compose.yml");

export function dockerRequested(): boolean {
  if (process.env.FLTS_LOCAL_MODE === "native") return false;
  const probe = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 5000 });
  return probe.status === 0;
}

export function compose(args: string[]): void {
  const result = spawnSync("docker", ["compose", "-f", composeFile, ...args], { stdio: "inherit" });
  if (result.status !== 0) throw new Error(`docker compose ${args.join(" ")} failed (exit ${result.status})`);
}
