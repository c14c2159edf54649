/** The answer of a camera connection test (POST /settings/cameras/test): what the source delivers. */
export interface ProbeResult {
  ok: boolean;
  codec?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Readable reason when ok is false. */
  error?: string;
  elapsed_ms: number;
}
