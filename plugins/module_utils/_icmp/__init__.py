# Copyright (c) netdevops.icmp contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# NOTE: THIS IS PRIVATE TO THE COLLECTION. It is not a public API and may change at
# any time.
"""The ICMP probe engine: stdlib only, Python 3.8+, never imports ansible.

Layers, each importing only the ones above it:

1. codec.py, models.py, pathmodels.py, constants.py, errors.py - pure: packets and results;
2. matching.py (echo), probes.py (path probes: builders, ``ProbeMatcher``) - which packet
   answers which probe; kernel.py - pure readers of ancillary data and /proc routes;
3. transport.py - the only code that touches sockets (ping's ``IcmpSocket``, the path
   probes' ``PathSockets``, route and interface MTU) and ``SystemNetwork``, the production
   side of the ``scheduler.Network`` seam; scheduler.py - the seams (``Network``, ``Clock``)
   and ping's event loop; resolve.py - target parsing and resolution over the seam;
4. ping.py, traceroute.py, pmtud.py (+ blackhole.py), stats.py - the algorithms.
"""
from __future__ import annotations
