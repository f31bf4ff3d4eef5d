"""Render the rsyslog rule that ships a server's journal to the stack's RELP-over-TLS destination.

A server the next deploy deletes must not keep the only copy of its logs. The
base image carries Debian's rsyslog and its RELP module (rsyslog-relp); this
module writes the one forwarding rule user-data hands it (cloud-init's
``rsyslog`` module drops it in ``/etc/rsyslog.d/`` and restarts rsyslog).

What is shipped: everything rsyslog receives (journald forwards the journal to
it: the app's request log and errors, every unit's output, the kernel through
``imklog``), plus ``/var/log/cloud-init.log`` read from its first line (cloud-init
runs before the rule exists). How: RELP (the Reliable Event Logging Protocol) over
TLS. The receiver acknowledges every line, and a line the receiver has not
acknowledged is sent again when the connection is back; plain TCP syslog
(RFC 5425) has no acknowledgement, so the lines written into a connection the
receiver had just dropped were lost. The destination's certificate is verified
against the CA user-data writes and its name checked against the destination's
host name (``tls.authMode="name"``). librelp does that check only when the
sender presents a certificate of its own, so each server makes a key and a
self-signed certificate at its first boot (``SENDER_KEY_PATH``; the base image's
``rsyslog-sender-key.service``); the receiver needs not check it.

Through a disk-assisted queue: an outage of the destination fills the queue
(memory, then up to ``QUEUE_MAX_DISK_MIB`` on disk) and never blocks logging on the
server; when the destination returns the queue drains in order. When the queue is
full, new lines are dropped (``queue.timeoutEnqueue=0``), never waited for.

Each line is an RFC 5424 message whose structured data names the server:
``[immutable-web@32473 instance="<cloud instance id>" image="<image name>"
app="<app>" version="<app version>"]``. The instance id is what cloud-init
read from the cloud's metadata; image, app and version come from the image's
own ``/etc/webapp/image.env`` (what the image really is, as ``/healthz`` reports).
The host name is the syslog header's. Pure functions: tested with
``rsyslogd -N1`` on the real config and a real RELP receiver
(tests/components/common/test_log_shipping.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# Written by user-data (public: a CA certificate is no secret).
LOG_CA_PATH = "/etc/rsyslog.d/log-destination-ca.crt"
# Debian's trust store: the destination's CA when the stack names none (a public CA).
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
RSYSLOG_CONFIG_FILENAME = "60-immutable-web-ship.conf"
# Where cloud-init reads its instance id, and the image's identity (images/scripts/app.sh).
INSTANCE_ID_PATH = "/var/lib/cloud/data/instance-id"
IMAGE_ENV_PATH = "/etc/webapp/image.env"
CLOUD_INIT_LOG = "/var/log/cloud-init.log"
# The server's own key and self-signed certificate, made at first boot by the base image's
# rsyslog-sender-key.service (images/scripts/base.sh) and deleted from images by cleanup.sh.
SENDER_KEY_PATH = "/var/lib/rsyslog-sender/key.pem"
SENDER_CERT_PATH = "/var/lib/rsyslog-sender/cert.pem"

# The bound on what a server keeps while the destination is away: 64 MiB on disk (about
# 116,000 request-log lines: a 53-byte line takes 577 bytes queued, its properties included;
# benchmarks/log_queue.py measures it), plus up to QUEUE_MEMORY_LINES in memory. Beyond that new lines are dropped, not waited for.
QUEUE_MAX_DISK_MIB = 64
QUEUE_MEMORY_LINES = 10000
# rsyslog's private enterprise number for example structured data (RFC 5424 section 7.2.2 wants one).
SD_ID = "immutable-web@32473"


@dataclass(frozen=True, kw_only=True)
class LogDestination:
    """A RELP receiver over TLS: host name (checked against its certificate), port, and the CA that signed it."""

    host: str
    port: int
    ca: str | None
    """PEM certificate(s) of the CA that signed the destination's certificate; None: Debian's trust store (a public CA)."""

    @property
    def ca_path(self) -> str:
        return LOG_CA_PATH if self.ca is not None else SYSTEM_CA_BUNDLE


def log_shipping_summary(destination: LogDestination | None) -> str:
    """One line for the stack's outputs (and so the plan): where the servers' logs go."""
    if destination is None:
        return "none: logs stay on each server and are deleted with it (set logDestination to ship them)"
    ca = "the stack's CA" if destination.ca is not None else "Debian's trust store"
    return f"relp over tls to {destination.host}:{destination.port} (every line acknowledged; certificate checked against {ca}; up to {QUEUE_MAX_DISK_MIB} MiB queued on disk while it is away)"


def _image_field(image_env_path: str, name: str) -> str:
    """A RainerScript expression: NAME's value in the image's image.env (read once, at rsyslog's start)."""
    return f're_extract(`cat {image_env_path}`, \'{name}="([^"]*)"\', 0, 1, "unknown")'


def render_rsyslog_config(
    destination: LogDestination,
    *,
    instance_id_path: str = INSTANCE_ID_PATH,
    image_env_path: str = IMAGE_ENV_PATH,
    cloud_init_log: str = CLOUD_INIT_LOG,
    sender_key_path: str = SENDER_KEY_PATH,
    sender_cert_path: str = SENDER_CERT_PATH,
) -> str:
    """The rsyslog drop-in that forwards everything to ``destination`` over RELP and TLS, through a bounded disk-assisted queue.

    The paths are the server's; a test points them at its own files to run the result with rsyslogd.
    """
    return f"""# Written by cloud-init from the stack's logDestination (components/common/log_shipping.py).
# Ships every line rsyslog receives (the journal, the kernel) and cloud-init's own log to
# {destination.host}:{destination.port} over RELP and TLS (every line acknowledged by the receiver),
# the server's identity in each line.

# librelp's TLS through OpenSSL, as rsyslog's documentation recommends (with its default, GnuTLS, the
# handshake with a receiver that does not ask for the sender's certificate failed: no shared cipher suite).
module(load="omrelp" tls.tlslib="openssl")

template(name="immutable-web-rfc5424" type="list") {{
    constant(value="<") property(name="pri") constant(value=">1 ")
    property(name="timereported" dateFormat="rfc3339")
    constant(value=" ") property(name="hostname")
    constant(value=" ") property(name="app-name")
    constant(value=" ") property(name="procid")
    constant(value=" - [{SD_ID} instance=\\"") property(name="$.instance")
    constant(value="\\" image=\\"") property(name="$.image")
    constant(value="\\" app=\\"") property(name="$.app")
    constant(value="\\" version=\\"") property(name="$.version")
    constant(value="\\"]") property(name="msg" spifno1stsp="on") property(name="msg" droplastlf="on")
}}

ruleset(name="immutable-web-ship") {{
    # Identity, read once at start (backticks are evaluated when rsyslog loads this file).
    set $.instance = replace(`cat {instance_id_path}`, "\\n", "");
    set $.image = {_image_field(image_env_path, "IMAGE_NAME")};
    set $.app = {_image_field(image_env_path, "APP_NAME")};
    set $.version = {_image_field(image_env_path, "APP_VERSION")};
    action(
        type="omrelp" target="{destination.host}" port="{destination.port}" template="immutable-web-rfc5424"
        # TLS: the receiver's certificate must be signed by the CA and issued for the destination's name.
        # librelp checks the name only when the sender has a certificate of its own (the server's, made at first boot).
        tls="on" tls.caCert="{destination.ca_path}" tls.authMode="name" tls.permittedPeer=["{destination.host}"]
        tls.myCert="{sender_cert_path}" tls.myPrivKey="{sender_key_path}"
        # Disk-assisted: memory first, spilled to disk while the destination is away; bounded.
        queue.type="LinkedList" queue.filename="immutable-web-ship" queue.size="{QUEUE_MEMORY_LINES}"
        queue.maxDiskSpace="{QUEUE_MAX_DISK_MIB}m" queue.saveOnShutdown="on"
        # A full queue drops new lines at once: logging never waits for the destination.
        queue.timeoutEnqueue="0"
        # Retry forever, every few seconds: the queue catches up when the destination returns.
        action.resumeRetryCount="-1" action.resumeInterval="5"
    )
}}

# Everything the default ruleset receives (journald's forward, imklog) is shipped as well as kept.
call immutable-web-ship

# cloud-init logged before this rule existed: its log file is read from the first line.
module(load="imfile")
input(type="imfile" file="{cloud_init_log}" tag="cloud-init:" facility="daemon" freshStartTail="off" ruleset="immutable-web-ship")
"""
