/** The promotion history of a scope: the reader the inference service's console route uses too. */
export { type HistoryItem, readHistory } from "../../functions/inference/history.ts";
