/** Canonical JSON and SHA-256 digests: the basis of `config_hash` (DESIGN.md, "Contracts"). */
import { createHash } from "node:crypto";

/**
 * JSON with object keys sorted (recursively, by UTF-16 code unit) and no whitespace.
 * Rejects values JSON cannot represent faithfully (undefined, functions, NaN, Infinity, bigint).
 */
export function canonicalJson(value: unknown): string {
  return encode(value, "(root)");
}

function encode(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} has no JSON representation`);
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v, i) => encode(v, `${path}[${i}]`)).join(",")}]`;
      const entries = Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => {
          const v = (value as Record<string, unknown>)[k];
          if (v === undefined) throw new TypeError(`${path}.${k}: undefined has no JSON representation`);
          return `${JSON.stringify(k)}:${encode(v, `${path}.${k}`)}`;
        });
      return `{${entries.join(",")}}`;
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} has no JSON representation`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface ConfigHashInput {
  /** The processed data's identifier (part of its lineage: same bytes under two names are two sets). */
  identifier: string;
  /** Every setting that changes the processed data. */
  settings: unknown;
  /** SHA-256 of the raw object (and of its `_test` companion when one is used). */
  raw: { sha256: string; test_sha256: string | null };
  /** `EXTRA_HASH_SALT`: any change starts a new lineage. */
  salt: string;
}

/** `config_hash` = SHA-256 of the canonical JSON of settings, raw digest and salt. */
export function configHash(input: ConfigHashInput): string {
  return sha256Hex(
    canonicalJson({
      identifier: input.identifier,
      raw: input.raw,
      salt: input.salt,
      settings: input.settings,
    }),
  );
}
