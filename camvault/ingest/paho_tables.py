"""paho's MQTT 5 properties without rebuilding their lookup tables for every packet.

paho decodes each received MQTT 5 packet's properties into a new ``Properties``, whose
constructor builds three lookup tables (type names, property names, and which packets may
carry which property), the same every time. That was 12% of the Frigate consumer's time,
more than parsing the packets' JSON. :func:`install` has paho's packet decoder build a
subclass that shares one copy of those tables (paho never changes them) and clears its
attributes without walking every property name. What it decodes is unchanged.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt._packet as paho_packet
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

__all__ = ["SharedTableProperties", "install"]

_TABLES = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
"""One instance whose tables every SharedTableProperties shares."""
_OWN = frozenset({"packetType", "types", "names", "properties"})
"""The attributes of a Properties that are not MQTT properties."""


class SharedTableProperties(Properties):
    """A paho ``Properties`` whose lookup tables are built once, not per packet."""

    def __init__(self, packetType: int) -> None:
        set_own = object.__setattr__
        set_own(self, "packetType", packetType)
        set_own(self, "types", _TABLES.types)
        set_own(self, "names", _TABLES.names)
        set_own(self, "properties", _TABLES.properties)

    def clear(self) -> None:
        """Remove every property set (what paho's own clear does, name by name)."""
        for name in [n for n in vars(self) if n not in _OWN]:
            delattr(self, name)


def install() -> None:
    """Have paho's packet decoder build :class:`SharedTableProperties` (once is enough)."""
    decoder: Any = paho_packet
    decoder.Properties = SharedTableProperties
