import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file lives in `<root>/local`). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Downloads and builds shared by every clone: `FLTS_CACHE_DIR`, default `~/.cache/flts`. */
export const cacheDir = process.env.FLTS_CACHE_DIR ?? join(homedir(), ".cache", "flts");

/** Service data and pid files of this clone (git-ignored). */
export const stateDir = process.env.FLTS_STATE_DIR ?? join(repoRoot, ".flts");

/** Log files of this clone's services, stages, trainers and tools (JSON lines where the source logs JSON). */
export const logsDir = join(stateDir, "logs");
