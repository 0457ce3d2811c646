#!/usr/bin/env python3
"""Writes the fuzz targets' starting corpora into fuzz/seeds/TARGET/ (committed; run again only
to change them). Each seed is a small valid input of its kind, so the fuzzer starts from inputs
that reach deep into the parsers rather than from nothing. Needs ffmpeg for the audio seeds."""
import json, os, struct, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

def put(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# Shows: they name a.wav (stereo) and b.wav (mono), which the harness writes beside them.
SHOWS = {
    "minimal": {"format": "segue-show/1", "scenes": [{"id": "one", "bed": {"file": "a.wav"}}]},
    "full": {
        "format": "segue-show/1", "name": "Fuzz", "panic_ms": 300, "end": "0:30",
        "duck": {"depth_db": -9, "attack_ms": 40, "release_ms": 400},
        "scenes": [
            {"id": "s1", "at": 0, "bed": {"file": "a.wav", "loop": True, "gain_db": -3,
             "in": 0.01, "out": 0.09},
             "cues": [
                {"id": "c1", "file": "b.wav", "at": 0.5, "gain_db": -6, "duck_db": -12, "fade_in_ms": 10},
                {"id": "c2", "file": "a.wav", "follow": {"after": "c1", "wait_ms": 100}, "loop": True},
                {"id": "c3", "file": "b.wav", "note": 60, "fade_out_ms": 50}]},
            {"id": "s2", "at": "0:10", "transition": {"fade_ms": 500},
             "bed": {"file": "b.wav"}, "cues": [{"id": "c4", "file": "a.wav", "at": "0:12.5"}]},
        ],
    },
}
for name, show in SHOWS.items():
    put("show_json", name + ".json", json.dumps(show, indent=1))
demo = open(os.path.join(HERE, "..", "presets", "demo", "show.json")).read()
put("show_json", "demo.json", demo)

for name, show in SHOWS.items():
    state = {"format": "segue-plugin-state/1", "path": "/show/" + name + ".json", "dir": "", "json": json.dumps(show)}
    put("plugin_state", name + ".json", json.dumps(state))

# OSC: messages and a bundle, each also as a SLIP frame.
def osc_str(s):
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 4)

def osc_msg(addr, *args):
    tags, body = ",", b""
    for a in args:
        if isinstance(a, float):
            tags += "f"; body += struct.pack(">f", a)
        elif isinstance(a, int):
            tags += "i"; body += struct.pack(">i", a)
        else:
            tags += "s"; body += osc_str(a)
    return osc_str(addr) + osc_str(tags) + body

def bundle(*msgs):
    out = osc_str("#bundle") + struct.pack(">Q", 1)
    for m in msgs:
        out += struct.pack(">i", len(m)) + m
    return out

def slip(p):
    return b"\xc0" + p.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"

packets = {
    "go": osc_msg("/segue/go"),
    "cue": osc_msg("/segue/cue/c1"),
    "stop": osc_msg("/segue/stop/c1", 250.0),
    "level": osc_msg("/segue/level/bed", -6.0),
    "locate": osc_msg("/segue/transport/locate", 12.5),
    "scene": osc_msg("/segue/scene/s2"),
    "bundle": bundle(osc_msg("/segue/go"), bundle(osc_msg("/segue/panic"), osc_msg("/segue/state"))),
}
for name, p in packets.items():
    put("osc", name, p)
    put("osc", name + ".slip", slip(p) + slip(osc_msg("/segue/go")))

# MIDI: notes, a program change, MSC GO / STOP / ALL_OFF with and without cue numbers.
def msc(device, command, number=b""):
    return bytes([0xF0, 0x7F, device, 0x02, 0x10, command]) + number + b"\xf7"
midi = {
    "note-go": bytes([0x90, 12, 100]), "note-panic": bytes([0x91, 13, 1]), "note-cue": bytes([0x90, 60, 64]),
    "program": bytes([0xC0, 3]), "msc-go": msc(0x7F, 1, b"12.5"), "msc-go-list": msc(0, 1, b"3\x001"),
    "msc-stop": msc(0, 2, b"7"), "msc-stop-all": msc(0, 2), "msc-off": msc(0x7F, 8),
}
for name, m in midi.items():
    put("midi", name, m)

# Audio: a 0.1 s stereo tone in each format; the two leading bytes are the harness's extension
# index and start offset.
EXT = ["wav", "mp3", "flac", "ogg", "m4a", "aiff", "aif", "wave"]
formats = [("wav16", "wav", ["-c:a", "pcm_s16le"]), ("wav24", "wav", ["-c:a", "pcm_s24le"]),
           ("wavf32", "wav", ["-c:a", "pcm_f32le"]), ("mp3", "mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]),
           ("flac", "flac", ["-c:a", "flac"]), ("ogg", "ogg", ["-c:a", "libvorbis"]),
           ("aac", "m4a", ["-c:a", "aac", "-b:a", "64k"]), ("alac", "m4a", ["-c:a", "alac"]),
           ("aiff", "aiff", ["-c:a", "pcm_s16be"])]
with tempfile.TemporaryDirectory() as tmp:
    for name, ext, codec in formats:
        out = os.path.join(tmp, name + "." + ext)
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=0.1:r=44100",
                        "-ac", "2"] + codec + [out], check=True)
        data = open(out, "rb").read()
        put("audio_file", name, bytes([EXT.index(ext), 0]) + data)
        put("audio_file", name + "-from-1000", bytes([EXT.index(ext), 1]) + data)
