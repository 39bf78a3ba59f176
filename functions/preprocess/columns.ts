/** Which CSV columns become features, and which are volumes for the negative-value policy. */
import type { PreprocessConfig, PreprocessReport } from "../common/contracts.ts";
import { DataError } from "./errors.ts";

/** The columns of the reference data (LTE cell traffic); the default features are those present. */
export const REFERENCE_COLUMNS = [
  "down",
  "up",
  "rnti_count",
  "mcs_down",
  "mcs_down_var",
  "mcs_up",
  "mcs_up_var",
  "rb_down",
  "rb_down_var",
  "rb_up",
  "rb_up_var",
] as const;

export { VOLUME_COLUMNS } from "../common/contracts.ts";

export interface ColumnChoice {
  features: string[];
  leftOut: string[];
  selection: PreprocessReport["feature_selection"];
}

/** Chooses the features of one CSV's header; errors name the column and the file. */
export function chooseColumns(header: string[], config: PreprocessConfig, name: string): ColumnChoice {
  const present = new Set(header);
  const listing = header.join(", ");
  if (!present.has("time")) throw new DataError(`${name}: column 'time' is missing (columns: ${listing})`);
  for (const col of config.features ?? config.targets) {
    if (!present.has(col)) {
      const role = config.targets.includes(col) ? "target" : "feature";
      throw new DataError(`${name}: column '${col}' is missing (required ${role}; columns: ${listing})`);
    }
  }
  const reference = new Set(config.reference_columns);
  const features = config.features
    ? [...config.features]
    : header.filter((col) => col !== "time" && reference.has(col));
  for (const target of config.targets) if (!features.includes(target)) features.push(target);
  return {
    features,
    leftOut: header.filter((col) => col !== "time" && !features.includes(col)),
    selection: config.features ? "FEATURES" : "reference_columns",
  };
}
