#!/usr/bin/env python3
"""Loopback RTSP server for the ingest tests (GStreamer's RTSP server through python3-gi).

Serves one H.264 MP4 file at rtsp://127.0.0.1:PORT/MOUNT without re-encoding:
filesrc ! qtdemux ! h264parse ! rtph264pay (audio is ignored). Binds to 127.0.0.1 only.
Prints `READY rtsp://127.0.0.1:PORT/MOUNT` on stdout once it listens; exits 0 on SIGTERM/SIGINT.

--loop restarts the file at its end so a client sees one continuous stream: the demuxer's EOS
is swallowed, the demuxer alone is seeked back to 0 (its flush events are swallowed too, so
the payloader and the RTSP sinks never notice), and a pad offset keeps running time, hence
RTP timestamps, increasing across the wrap.

Debian packages: python3-gi, gir1.2-gst-rtsp-server-1.0 (pulls in gstreamer1.0-plugins-base,
-good: qtdemux and rtph264pay, and -bad: h264parse).
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def log(msg):
    print(f"rtsp-server: {msg}", file=sys.stderr, flush=True)


class Looper:
    """Makes one demuxer's video pad loop forever (see the module docstring)."""

    def __init__(self, demux):
        self.demux = demux
        self.offset = 0  # ns added to running time: where the current pass started
        self.segment = None
        self.end = 0  # running time of the end of the latest buffer
        self.seeking = False
        demux.connect("pad-added", self.on_pad_added)

    def on_pad_added(self, _demux, pad):
        if pad.get_name().startswith("video"):
            # Flush events are only seen with EVENT_FLUSH in the mask.
            mask = Gst.PadProbeType.EVENT_DOWNSTREAM | Gst.PadProbeType.EVENT_FLUSH | Gst.PadProbeType.BUFFER
            pad.add_probe(mask, self.probe)

    def probe(self, pad, info):
        if info.type & Gst.PadProbeType.BUFFER:
            buf = info.get_buffer()
            if self.segment is not None and buf.pts != Gst.CLOCK_TIME_NONE:
                # The segment seen here already carries the pad offset, so this is the
                # running time downstream sees.
                rt = self.segment.to_running_time(Gst.Format.TIME, buf.pts)
                if rt != Gst.CLOCK_TIME_NONE:
                    end = rt + (buf.duration if buf.duration != Gst.CLOCK_TIME_NONE else 0)
                    self.end = max(self.end, end)
            return Gst.PadProbeReturn.OK
        event = info.get_event()
        t = event.type
        if t == Gst.EventType.SEGMENT:
            self.segment = event.parse_segment()
            return Gst.PadProbeReturn.OK
        if t == Gst.EventType.EOS:
            if not self.seeking:
                self.seeking = True
                # The next pass starts where this one ended, in running time.
                self.offset = self.end
                pad.set_offset(self.offset)
                # Seek from the main loop, not from this streaming thread.
                GLib.idle_add(self.rewind)
            return Gst.PadProbeReturn.DROP
        if t in (Gst.EventType.FLUSH_START, Gst.EventType.FLUSH_STOP):
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def rewind(self):
        ok = self.demux.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        if not ok:
            log("loop: seek back to the start failed")
        self.seeking = False
        return False


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, path, loop):
        super().__init__()
        self.loop = loop
        location = path.replace("\\", "\\\\").replace('"', '\\"')
        self.set_launch(
            f'( filesrc location="{location}" ! qtdemux name=demux '
            "demux.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, _factory, media):
        if self.loop:
            demux = media.get_element().get_by_name("demux")
            media.looper = Looper(demux)  # keep a reference for the media's lifetime


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--file", required=True, help="H.264 MP4 file to serve")
    p.add_argument("--port", type=int, default=0, help="TCP port (0 or omitted: any free port)")
    p.add_argument("--mount", default="/clip", help="mount point (default /clip)")
    p.add_argument("--loop", action="store_true", help="restart the file at its end")
    p.add_argument("--shared", action="store_true", help="one pipeline for all clients (default: one per client)")
    args = p.parse_args()
    mount = args.mount if args.mount.startswith("/") else "/" + args.mount

    Gst.init(None)
    for name in ("filesrc", "qtdemux", "h264parse", "rtph264pay"):
        if Gst.ElementFactory.find(name) is None:
            log(f"GStreamer element {name} is missing")
            return 2

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = Factory(args.file, args.loop)
    factory.set_shared(args.shared)
    server.get_mount_points().add_factory(mount, factory)

    main_loop = GLib.MainLoop()
    if server.attach(None) == 0:
        log(f"cannot listen on 127.0.0.1:{args.port}")
        return 1

    def quit_loop():
        main_loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, quit_loop)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, quit_loop)

    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}{mount}", flush=True)
    main_loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
