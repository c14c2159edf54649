/** Entry point of the ingest layer: importing it registers the ffmpeg-backed sources for every type. */
import { registerFfmpegSources } from './ffmpeg-source.js';

registerFfmpegSources();

export { createFrameSource, inferSourceType, registeredSourceTypes, registerFrameSource, SOURCE_TYPES } from './frame-source.js';
export type { Frame, FrameSource, FrameSourceFactory, SourceSpec, SourceType } from './frame-source.js';
export { FfmpegFrameSource, probeVideo } from './ffmpeg-source.js';
export { FrameQueue } from './frame-queue.js';
export { Backoff } from './backoff.js';
export { RateMeter, SOURCE_STATES } from './stats.js';
export type { SourceState, SourceStats } from './stats.js';
