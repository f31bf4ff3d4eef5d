"""The serving contract between the image and the program: paths, and how long a stopping server drains.

The image's app (``images/webapp/app.py``) serves two paths, and the program
points two different checkers at them:

* ``READINESS_PATH`` (``/readyz``) is shallow: 200 once the app has reached the
  database one time since it started, and as long as it is not draining; the
  check itself never touches the database. The *load balancer* checks it, so a
  server with a bad database password never takes traffic, while a database
  failover, maintenance window or restart never empties a pool that was
  serving (pages that need no database keep answering).
* ``HEALTH_PATH`` (``/healthz``) is deep: 200 only when ``SELECT 1`` succeeds,
  and it reports the version and the instance id. The *health gate* checks it
  during `pulumi up`, so a server with a bad database password never passes.

DRAIN. A droplet being deleted gets an ACPI shutdown (the provider's
``graceful_shutdown``): systemd sends the app SIGTERM. The load balancer keeps
routing to it until its health check has failed ``unhealthy_threshold`` times,
so the app must keep serving for that long after it starts failing readiness.
``drain_seconds`` is that window, derived from the very numbers the program
gives the load balancer, and handed to the image through user-data
(``APP_DRAIN_SECONDS``). The unit's ``TimeoutStopSec`` (baked) must cover
``MAX_DRAIN_SECONDS`` plus ``IN_FLIGHT_GRACE_SECONDS``; a test checks both sides.

Pure; tests import it beside the image's files.
"""

from __future__ import annotations

import math

READINESS_PATH = "/readyz"
HEALTH_PATH = "/healthz"

# The baked unit stops the app after TimeoutStopSec; the drain plus in-flight requests must fit.
MAX_DRAIN_SECONDS = 60
IN_FLIGHT_GRACE_SECONDS = 15
# Slack for the checker's own scheduling: a check can start up to one interval after the drain begins.
DRAIN_MARGIN_SECONDS = 2


def drain_seconds(*, check_interval_seconds: int, response_timeout_seconds: int, unhealthy_threshold: int) -> int:
    """Seconds a stopping server keeps serving after it starts failing readiness.

    The balancer's last passing check may have run just before the drain began;
    then ``unhealthy_threshold`` failing checks follow, one per interval, each
    taking up to the response timeout. After that it routes nothing new here.
    """
    window = unhealthy_threshold * check_interval_seconds + response_timeout_seconds + DRAIN_MARGIN_SECONDS
    if window > MAX_DRAIN_SECONDS:
        raise ValueError(
            f"the load balancer takes up to {window}s to notice a draining server "
            f"({unhealthy_threshold} checks x {check_interval_seconds}s + {response_timeout_seconds}s); the image drains at most {MAX_DRAIN_SECONDS}s"
        )
    return math.ceil(window)
