/**
 * Contract for config/events.yaml: how finished tracks become plate events (validation,
 * fuzzy dedup, OCR settling). Strict so a misspelt key fails loudly instead of silently
 * falling back to a default.
 */
import { z } from 'zod';

export const EventsConfig = z
  .object({
    /** Consensus confidence (after multi-frame voting) below which a track makes no event. */
    min_confidence: z.number().min(0).max(1).default(0.7),
    /** Normalised length bounds; the regional format may narrow them further. */
    min_length: z.number().int().min(1).max(16).default(3),
    max_length: z.number().int().min(1).max(16).default(10),
    plate_format: z.enum(['us', 'eu', 'any']).default('us'),
    /** Reject reads without a digit (vanity plates have none, so off by default). */
    require_digit: z.boolean().default(false),
    /** Levenshtein similarity (1 - dist / longer length) at or above which two reads are one plate. */
    dedup_similarity: z.number().min(0).max(1).default(0.85),
    /** How long after its last sighting a plate still counts as a duplicate on the same camera. */
    dedup_window_s: z.number().min(0).default(300),
    /** Hard cap on remembered plates per camera so memory does not grow with traffic. */
    dedup_max_entries: z.number().int().min(1).max(100_000).default(512),
    /** OCR on a track stops once this many reads agree on the consensus ... */
    settle_min_reads: z.number().int().min(1).default(3),
    /** ... at this consensus confidence or more. */
    settle_confidence: z.number().min(0).max(1).default(0.9),
  })
  .strict()
  .refine((c) => c.min_length <= c.max_length, { message: 'min_length must not exceed max_length', path: ['min_length'] });

export type EventsConfig = z.infer<typeof EventsConfig>;
/** What a caller may pass: every key optional, defaults filled in by parsing. */
export type EventsConfigInput = z.input<typeof EventsConfig>;
