#!/usr/bin/python3
# A StatusNotifier host for the e2e tests: owns org.kde.StatusNotifierWatcher on the session bus
# it is given (what a desktop's panel does), so the app's tray icon (libayatana-appindicator)
# registers with it, and reads that icon like a panel would. One command per stdin line, one JSON
# line per answer on stdout:
#   dump          -> {"label", "icon", "status", "menu": [{"id", "label", "enabled", "checked", "children"}]}
#   click <label> -> {"clicked": <id>} (a dbusmenu "clicked" event on the item with that label)
#   notices       -> {"notices": [{"id", "summary", "body", "actions": [key, label, ...], "open"}]}
#   act <id> <key> -> {"acted": <id>} (the user pressed that button: ActionInvoked, then closed)
# It is the session's notification daemon too (org.freedesktop.Notifications, with actions), as a
# desktop's is.
# Printed unasked: {"ready": true} once the name is owned, {"registered": "<service><path>"}.
# Needs python3-dbus and python3-gi (GLib main loop).

import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

WATCHER = 'org.kde.StatusNotifierWatcher'
NOTIFICATIONS = 'org.freedesktop.Notifications'
ITEM = 'org.kde.StatusNotifierItem'
MENU = 'com.canonical.dbusmenu'

DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
items = []


def say(value):
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + '\n')
    sys.stdout.flush()


class Watcher(dbus.service.Object):
    def __init__(self):
        self.name = dbus.service.BusName(WATCHER, bus)
        super().__init__(bus, '/StatusNotifierWatcher')

    @dbus.service.method(WATCHER, in_signature='s', out_signature='', sender_keyword='sender')
    def RegisterStatusNotifierItem(self, service, sender=None):
        # Either a bus name (path /StatusNotifierItem) or an object path on the sender.
        owner, path = (sender, service) if service.startswith('/') else (service, '/StatusNotifierItem')
        items.append((owner, path))
        say({'registered': owner + path})
        self.StatusNotifierItemRegistered(owner + path)

    @dbus.service.method(WATCHER, in_signature='s', out_signature='')
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(WATCHER, signature='s')
    def StatusNotifierItemRegistered(self, service):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature='ss', out_signature='v')
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature='s', out_signature='a{sv}')
    def GetAll(self, interface):
        return {
            'IsStatusNotifierHostRegistered': True,
            'ProtocolVersion': dbus.Int32(0),
            'RegisteredStatusNotifierItems': dbus.Array([o + p for o, p in items], signature='s'),
        }


notices = {}


class Notifications(dbus.service.Object):
    def __init__(self):
        self.name = dbus.service.BusName(NOTIFICATIONS, bus)
        super().__init__(bus, '/org/freedesktop/Notifications')
        self.next_id = 1

    @dbus.service.method(NOTIFICATIONS, in_signature='susssasa{sv}i', out_signature='u')
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        id_ = int(replaces) or self.next_id
        self.next_id = max(self.next_id, id_ + 1)
        notices[id_] = {'id': id_, 'summary': str(summary), 'body': str(body), 'actions': [str(a) for a in actions], 'open': True}
        say({'notified': notices[id_]})
        return dbus.UInt32(id_)

    @dbus.service.method(NOTIFICATIONS, in_signature='u', out_signature='')
    def CloseNotification(self, id_):
        self.close(int(id_), 3)

    def close(self, id_, reason):
        if id_ in notices and notices[id_]['open']:
            notices[id_]['open'] = False
            self.NotificationClosed(dbus.UInt32(id_), dbus.UInt32(reason))

    @dbus.service.method(NOTIFICATIONS, in_signature='', out_signature='as')
    def GetCapabilities(self):
        return ['actions', 'body']

    @dbus.service.method(NOTIFICATIONS, in_signature='', out_signature='ssss')
    def GetServerInformation(self):
        return ('tray_host', 'hookflash-tests', '1', '1.2')

    @dbus.service.signal(NOTIFICATIONS, signature='uu')
    def NotificationClosed(self, id_, reason):
        pass

    @dbus.service.signal(NOTIFICATIONS, signature='us')
    def ActionInvoked(self, id_, key):
        pass


def entry(node):
    id_, props, children = node
    out = {'id': int(id_)}
    if 'label' in props:
        out['label'] = str(props['label']).replace('_', '')
    if props.get('type') == 'separator':
        out['separator'] = True
    out['enabled'] = bool(props.get('enabled', True))
    if 'toggle-type' in props:
        out['checked'] = int(props.get('toggle-state', 0)) == 1
    kids = [entry(c) for c in children]
    if kids:
        out['children'] = kids
    return out


def item():
    owner, path = items[-1]
    props = bus.get_object(owner, path).GetAll(ITEM, dbus_interface=dbus.PROPERTIES_IFACE)
    menu = bus.get_object(owner, str(props['Menu']))
    _revision, layout = menu.GetLayout(0, -1, dbus.Array([], signature='s'), dbus_interface=MENU)
    return props, menu, entry(layout).get('children', [])


def find(entries, label):
    for e in entries:
        if e.get('label') == label:
            return e['id']
        found = find(e.get('children', []), label)
        if found is not None:
            return found
    return None


def command(line):
    line = line.strip()
    try:
        if line == 'notices':
            return {'notices': list(notices.values())}
        if line.startswith('act '):
            _, id_, key = line.split(' ', 2)
            id_ = int(id_)
            if id_ not in notices or not notices[id_]['open']:
                return {'error': f'no open notification {id_}'}
            daemon.ActionInvoked(dbus.UInt32(id_), key)
            daemon.close(id_, 2)
            return {'acted': id_}
        if not items:
            return {'error': 'no tray icon registered'}
        props, menu, entries = item()
        if line == 'dump':
            return {
                'label': str(props.get('XAyatanaLabel', '')),
                'icon': str(props.get('IconName', '')),
                'status': str(props.get('Status', '')),
                'menu': entries,
            }
        if line.startswith('click '):
            label = line[len('click '):]
            id_ = find(entries, label)
            if id_ is None:
                return {'error': f'no menu item {label!r}'}
            menu.Event(dbus.Int32(id_), 'clicked', dbus.Int32(0, variant_level=1), dbus.UInt32(0), dbus_interface=MENU)
            return {'clicked': id_}
        return {'error': f'unknown command {line!r}'}
    except dbus.DBusException as error:
        return {'error': str(error)}


def on_stdin(channel, condition):
    line = channel.readline()
    if not line:
        loop.quit()
        return False
    say(command(line))
    return True


Watcher()
daemon = Notifications()
loop = GLib.MainLoop()
GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.IO_IN | GLib.IO_HUP, on_stdin)
say({'ready': True})
loop.run()
