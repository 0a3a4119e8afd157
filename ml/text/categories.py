"""The platform's complaint categories, and how NHTSA's components map onto them.

NHTSA labels a complaint with one or more components, comma-joined
(`POWER TRAIN,ELECTRICAL SYSTEM`), each a path from a system down (`SERVICE BRAKES,
HYDRAULIC:ANTILOCK`; the system name may itself hold ", "). A complaint's category is the
category of its first component whose system is known; `UNKNOWN OR OTHER` counts only
when it stands alone.
"""

from __future__ import annotations

import re

CATEGORIES = (
    "brakes",
    "engine",
    "transmission",
    "electrical",
    "hvac",
    "suspension_steering",
    "tires_wheels",
    "body",
    "airbags_restraints",
    "maintenance",
    "other",
)

# NHTSA system (the part of a component before the first ':') -> category.
NHTSA_SYSTEMS = {
    "SERVICE BRAKES": "brakes",
    "SERVICE BRAKES, HYDRAULIC": "brakes",
    "SERVICE BRAKES, AIR": "brakes",
    "SERVICE BRAKES, ELECTRIC": "brakes",
    "PARKING BRAKE": "brakes",
    "ENGINE": "engine",
    "ENGINE AND ENGINE COOLING": "engine",
    "FUEL SYSTEM, GASOLINE": "engine",
    "FUEL SYSTEM, DIESEL": "engine",
    "FUEL SYSTEM, OTHER": "engine",
    "FUEL SYSTEM": "engine",
    "FUEL/PROPULSION SYSTEM": "engine",
    "VEHICLE SPEED CONTROL": "engine",  # throttle and cruise: the engine's controls
    "POWER TRAIN": "transmission",
    "ELECTRICAL SYSTEM": "electrical",
    "EXTERIOR LIGHTING": "electrical",
    "COMMUNICATIONS": "electrical",
    # Driver-assistance systems are sensors and software: electrical, whatever they act on.
    "FORWARD COLLISION AVOIDANCE": "electrical",
    "LANE DEPARTURE": "electrical",
    "BACK OVER PREVENTION": "electrical",
    "ELECTRONIC STABILITY CONTROL": "electrical",
    "ELECTRONIC STABILITY CONTROL (ESC)": "electrical",
    "TRACTION CONTROL SYSTEM": "electrical",
    "STEERING": "suspension_steering",
    "SUSPENSION": "suspension_steering",
    "TIRES": "tires_wheels",
    "WHEELS": "tires_wheels",
    "STRUCTURE": "body",
    "VISIBILITY": "body",
    "VISIBILITY/WIPER": "body",
    "LATCHES/LOCKS/LINKAGES": "body",
    "SEATS": "body",
    "AIR BAGS": "airbags_restraints",
    "SEAT BELTS": "airbags_restraints",
    "CHILD SEAT": "airbags_restraints",
    "EQUIPMENT": "other",
    "EQUIPMENT ADAPTIVE/MOBILITY": "other",
    "OTHER": "other",
    "UNKNOWN OR OTHER": "other",
}

# Components are joined by a bare comma; ", " belongs inside a system name.
_COMPONENT_SEPARATOR = re.compile(r",(?=\S)")


def nhtsa_category(component: str) -> str:
    """The platform category of an NHTSA component label."""
    systems = [part.split(":", 1)[0].strip() for part in _COMPONENT_SEPARATOR.split(component)]
    known = [NHTSA_SYSTEMS[s] for s in systems if s in NHTSA_SYSTEMS and s != "UNKNOWN OR OTHER"]
    return known[0] if known else "other"
