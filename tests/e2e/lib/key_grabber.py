#!/usr/bin/python3
"""Another program holding a key combination, as a desktop's own shortcut daemon does: grabs it
on the X root window (with NumLock/CapsLock variants) and keeps it until killed. Prints
"grabbed" once it holds it. Needs python3-xlib.

    DISPLAY=:99 key_grabber.py j ctrl alt
"""
import sys

from Xlib import X, XK, display

MODS = {"ctrl": X.ControlMask, "alt": X.Mod1Mask, "shift": X.ShiftMask, "super": X.Mod4Mask}


def main():
    key, *mods = sys.argv[1:]
    d = display.Display()
    root = d.screen().root
    code = d.keysym_to_keycode(XK.string_to_keysym(key))
    if not code:
        sys.exit(f"no key {key!r} on this display")
    mask = 0
    for m in mods:
        mask |= MODS[m]
    for extra in (0, X.Mod2Mask, X.LockMask, X.Mod2Mask | X.LockMask):
        root.grab_key(code, mask | extra, True, X.GrabModeAsync, X.GrabModeAsync)
    d.sync()
    print("grabbed", flush=True)
    while True:
        d.next_event()


if __name__ == "__main__":
    main()
