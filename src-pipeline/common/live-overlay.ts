/**
 * The /live/overlays WebSocket message: the boxes of one analysed frame, in that frame's pixels
 * (w × h). Shared by the server that sends it (src-pipeline/api/preview.ts) and the console that
 * draws it.
 */

export interface OverlayTrack {
  id: string;
  type: string | null;
  box: [number, number, number, number];
  plate: string | null;
  confidence: number | null;
}

export interface OverlayPlate {
  track_id: string | null;
  box: [number, number, number, number];
  text: string | null;
  confidence: number | null;
}

export interface OverlayMessage {
  type: 'overlay';
  camera_id: string;
  index: number;
  w: number;
  h: number;
  tracks: OverlayTrack[];
  plates: OverlayPlate[];
}
