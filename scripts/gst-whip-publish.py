#!/usr/bin/python3
"""Publish a GStreamer test pattern (or any pipeline) to a WHIP endpoint with webrtcbin.

Debian 12's simple-whip-client aborts (libsoup2/libsoup3 clash), so this drives webrtcbin
directly: offer -> wait for ICE gathering -> POST /whip (Bearer stream key) -> answer.
Runs until SIGTERM/SIGINT, then DELETEs the session. Prints one JSON line per event.

  /usr/bin/python3 scripts/gst-whip-publish.py --url http://host:8080/whip --key glint_sk_... --codec h264
"""
import argparse
import json
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstWebRTC', '1.0')
gi.require_version('GstSdp', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

VIDEO = {
    'h264': 'videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 ! videoconvert ! '
            'x264enc tune=zerolatency speed-preset=ultrafast bitrate=800 key-int-max=60 bframes={bframes} ! '
            'video/x-h264,profile={profile} ! rtph264pay config-interval=-1 pt=96 aggregate-mode=zero-latency ! '
            'application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000 ! webrtc.',
    'vp8': 'videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 ! videoconvert ! '
           'vp8enc deadline=1 keyframe-max-dist=60 target-bitrate=800000 ! rtpvp8pay pt=97 ! '
           'application/x-rtp,media=video,encoding-name=VP8,payload=97,clock-rate=90000 ! webrtc.',
}
AUDIO = ('audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! '
         'application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! webrtc.')


def say(**event):
    print(json.dumps(event), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--codec', choices=['h264', 'vp8'], default='h264')
    ap.add_argument('--profile', default='constrained-baseline')
    ap.add_argument('--bframes', type=int, default=0)
    ap.add_argument('--no-audio', action='store_true')
    ap.add_argument('--verbose', action='store_true', help='print the offer and answer')
    args = ap.parse_args()

    Gst.init(None)
    desc = 'webrtcbin name=webrtc bundle-policy=max-bundle ' + VIDEO[args.codec].format(profile=args.profile, bframes=args.bframes)
    if not args.no_audio:
        desc += ' ' + AUDIO
    pipe = Gst.parse_launch(desc)
    webrtc = pipe.get_by_name('webrtc')
    loop = GLib.MainLoop()
    state = {'location': None, 'offer_sent': False}

    def stop(*_):
        if state['location']:
            try:
                urllib.request.urlopen(urllib.request.Request(state['location'], method='DELETE', headers={'Authorization': 'Bearer ' + args.key}), timeout=5)
                say(event='deleted')
            except Exception as e:  # noqa: BLE001
                say(event='delete-failed', error=str(e))
        pipe.set_state(Gst.State.NULL)
        loop.quit()

    def post_offer():
        if state['offer_sent']:
            return
        state['offer_sent'] = True
        sdp = webrtc.get_property('local-description').sdp.as_text()
        if args.verbose:
            say(event='offer', sdp=sdp)
        req = urllib.request.Request(args.url, data=sdp.encode(), method='POST', headers={
            'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + args.key})
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                answer = res.read().decode()
                state['location'] = urllib.parse.urljoin(args.url, res.headers['Location'])
                say(event='answer', status=res.status, location=state['location'])
        except urllib.error.HTTPError as e:
            say(event='refused', status=e.code, body=e.read().decode())
            stop()
            return
        if args.verbose:
            say(event='answer-sdp', sdp=answer)
        ok, msg = GstSdp.SDPMessage.new_from_text(answer)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        webrtc.emit('set-remote-description', desc, Gst.Promise.new())

    def on_gathering(element, _pspec):
        if element.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            GLib.idle_add(post_offer)

    def on_offer(promise, _data):
        reply = promise.get_reply()
        offer = reply.get_value('offer')
        webrtc.emit('set-local-description', offer, Gst.Promise.new())
        # Do not wait for ever on a stuck gathering: send what we have after 2 s.
        GLib.timeout_add(2000, lambda: (post_offer(), False)[1])

    def on_negotiation_needed(element):
        element.emit('create-offer', None, Gst.Promise.new_with_change_func(on_offer, None))

    def on_state(element, _pspec):
        say(event='connection', state=element.get_property('connection-state').value_nick)

    webrtc.connect('on-negotiation-needed', on_negotiation_needed)
    webrtc.connect('notify::ice-gathering-state', on_gathering)
    webrtc.connect('notify::connection-state', on_state)
    pipe.set_state(Gst.State.PLAYING)
    # webrtcbin makes sendrecv transceivers from its sink pads; publish only.
    for i in range(2 if not args.no_audio else 1):
        t = webrtc.emit('get-transceiver', i)
        if t is not None:
            t.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect('message::error', lambda _b, m: (say(event='error', error=str(m.parse_error()[0])), stop()))
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, stop)
    say(event='started', codec=args.codec)
    loop.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
