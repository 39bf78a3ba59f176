/** Types of iso-utc.mjs for the TypeScript that imports it. */
export declare const YEAR_10000: number;
export declare function toIsoUtc(unixSeconds: number): string;
